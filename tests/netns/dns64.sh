#!/bin/bash
# DNS64 end to end: sixfourd in the lab's appl namespace recursing through
# the real (nsd) hierarchy with the lab's trust anchor; dig in the IPv6-only
# client namespace. Covers RFC 6147 sections 5.1-5.5, RFC 8880, EDNS/TC/TCP,
# error handling, the answer cache, export, ACL and the rate limit.
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
lab_require_root
lab_require dig python3 named-checkconf unbound-checkconf
tap_plan 86

WKP=64:ff9b::
SITE2=2001:db8:64::
DRAINED=2001:db8:65::

lab_setup
# Zones of this test: a second TLD for cross-zone CNAME chains, a bogus
# zone for DNSSEC, records for the exclude/mapped/TTL/TC cases, and a
# delegation to a server that never answers.
printf 'www A %s\nalias CNAME www.example.\nchain CNAME alias\n' "$LAB_SERVER4" >"$LAB_DIR/other.zone"
lab_zone other. "$LAB_DIR/other.zone"
printf 'www A %s\n' "$LAB_SERVER4" >"$LAB_DIR/bogus.zone"
lab_zone bogus.example "$LAB_DIR/bogus.zone" bogus
many=()
for i in $(seq 1 40); do
	many+=("many A 192.88.99.$((100 + i))")
done
big=()
for i in $(seq 1 12); do
	big+=("bigtxt TXT \"$(printf '%0200d' "$i")\"")
done
lab_records example. \
	"excluded A $LAB_SERVER4" "excluded AAAA 2001:db8:dead::1" \
	"mixed A $LAB_SERVER4" "mixed AAAA 2001:db8:dead::1" "mixed AAAA $LAB_DUAL6" \
	"mapped A $LAB_SERVER4" "mapped AAAA ::ffff:$LAB_SERVER4" \
	"private A 10.1.2.3" "private A $LAB_SERVER4_ALT" \
	"longttl 3600 A $LAB_SERVER4" "shortttl 60 A $LAB_SERVER4" \
	"dead NS ns.dead.example." "ns.dead.example. A 192.88.99.99" \
	"lame NS ns.lame.example." "ns.lame.example. A $LAB_ARPA4" \
	"${big[@]}" "${many[@]}"
lab_dns_start

cat >"$LAB_DIR/dns64.ini" <<EOF
[prefix wkp]
prefix = 64:ff9b::/96
translate = yes

[prefix site2]
prefix = 2001:db8:64::/96

# Health-checked and not ours: starts inactive, so it is reverse-only.
[prefix drained]
prefix = 2001:db8:65::/96
probe = yes
probe-target = 192.88.99.80

[dns64]
exclude = ::ffff:0:0/96, 2001:db8::/32
root-hints = $LAB_ROOT_HINTS
query-timeout = 3s
unbound-option = do-ip6: no
# libunbound answers the documentation prefix's reverse zone itself
# (RFC 6303 local zones) unless told not to ("nodefault" does not work
# through ub_ctx_set_option in libunbound 1.17; "transparent" does).
unbound-option = local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." transparent
EOF
lab_sixfourd_start "$LAB_DIR/dns64.ini" || { tap_ok "sixfourd starts" false; tap_done; exit 1; }

q() { lab_in client dig +time=6 +tries=1 @"$LAB_APPL6" "$@"; }
qs() { q +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
answers() { q +noall +answer "$@"; }
ad='flags:[^;]* ad[ ;]'

# --- 5.1.4-5.1.8: synthesis with every active prefix ---
tap_is "A-only name: one AAAA per active prefix (not the drained one)" \
	"$(qs www.example AAAA)" "2001:db8:64::c058:6350 64:ff9b::c058:6350"
tap_is "two A records x two prefixes = four AAAA" "$(qs multi.example AAAA)" \
	"2001:db8:64::c058:6350 2001:db8:64::c058:6351 64:ff9b::c058:6350 64:ff9b::c058:6351"
tap_is "a real AAAA passes through unchanged" "$(qs dual.example AAAA)" "$LAB_DUAL6"
tap_is "AAAA only in exclude ranges: synthesized from A" "$(qs excluded.example AAAA)" \
	"2001:db8:64::c058:6350 64:ff9b::c058:6350"
tap_is "excluded and usable AAAA mixed: only the usable one passes (5.1.4)" \
	"$(qs mixed.example AAAA)" "$LAB_DUAL6"
tap_is "a ::ffff mapped AAAA is excluded: synthesized" "$(qs mapped.example AAAA)" \
	"2001:db8:64::c058:6350 64:ff9b::c058:6350"
tap_is "non-global IPv4 is never put under the Well-Known Prefix (RFC 6052 3.1)" \
	"$(qs private.example AAAA)" \
	"2001:db8:64::a01:203 2001:db8:64::c058:6351 64:ff9b::c058:6351"
out=$(answers chain.other AAAA)
tap_like "CNAME chain across zones: the first CNAME is kept" "$out" \
	'chain\.other\..*CNAME[[:space:]]+alias\.other\.'
tap_like "... and the second, into another zone" "$out" \
	'alias\.other\..*CNAME[[:space:]]+www\.example\.'
tap_like "... and the AAAA owner is the end of the chain" "$out" \
	'www\.example\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+AAAA[[:space:]]+64:ff9b::c058:6350'
out=$(q nosuchname.example AAAA)
tap_like "NXDOMAIN passes through (5.1.2)" "$out" 'status: NXDOMAIN'
out=$(q nodata.example AAAA)
tap_like "NODATA for AAAA and A: NOERROR" "$out" 'status: NOERROR'
tap_like "... with no answer" "$out" 'ANSWER: 0,'
tap_like "... with the zone's SOA for negative caching" "$out" 'example\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA'
out=$(q v6only.example AAAA +short)
tap_is "AAAA-only name passes through" "$out" "$LAB_V6ONLY6"

# --- 5.1.7: TTL = min(A TTL, SOA negative TTL = 300 in the lab) ---
ttl_of() { answers "$1" AAAA | awk '$4 == "AAAA" { print $2; exit }'; }
t=$(ttl_of shortttl.example)
tap_ok "TTL of an A with TTL 60 stays <= 60 (got $t)" test "${t:-999}" -le 60 -a "${t:-0}" -gt 0
t=$(ttl_of longttl.example)
tap_ok "TTL of an A with TTL 3600 is capped at the SOA's 300 (got $t)" \
	test "${t:-999}" -le 300 -a "${t:-0}" -gt 200

# --- 5.3.1: PTR for synthesized addresses, also for a drained prefix ---
out=$(answers -x 64:ff9b::c058:6350)
tap_like "PTR in the WKP: CNAME to the in-addr.arpa name" "$out" \
	'CNAME[[:space:]]+80\.99\.88\.192\.in-addr\.arpa\.'
tap_like "... resolved to the IPv4 server's name" "$out" 'PTR[[:space:]]+www\.example\.'
out=$(answers -x ${DRAINED}c058:6351)
tap_like "PTR in a reverse-only (drained) prefix is synthesized too" "$out" 'PTR[[:space:]]+www2\.example\.'
out=$(answers -x "$LAB_CLIENT6")
tap_like "PTR outside every prefix goes to the real ip6.arpa tree" "$out" 'PTR[[:space:]]+client\.example\.'

# --- RFC 8880 ipv4only.arpa, answered locally with the active prefixes ---
tap_is "ipv4only.arpa AAAA: both well-known addresses with each active prefix" \
	"$(qs ipv4only.arpa AAAA)" \
	"2001:db8:64::c000:aa 2001:db8:64::c000:ab 64:ff9b::c000:aa 64:ff9b::c000:ab"
tap_is "ipv4only.arpa A: 192.0.0.170 and .171" "$(qs ipv4only.arpa A)" "192.0.0.170 192.0.0.171"
tap_like "a name below ipv4only.arpa is NXDOMAIN" "$(q x.ipv4only.arpa AAAA)" 'status: NXDOMAIN'

# --- transports ---
tap_is "AAAA over TCP" "$(qs +tcp www.example AAAA)" "2001:db8:64::c058:6350 64:ff9b::c058:6350"
out=$(q +ignore +bufsize=1232 bigtxt.example TXT)
tap_like "an answer larger than the UDP payload comes back with TC" "$out" 'flags:[^;]* tc[ ;]'
out=$(q +bufsize=1232 bigtxt.example TXT)
tap_like "dig retries it over TCP and gets all 12 strings" "$out" 'ANSWER: 12,'
out=$(q +noedns +ignore bigtxt.example TXT)
tap_like "without EDNS the limit is 512 octets (TC)" "$out" 'flags:[^;]* tc[ ;]'
tap_unlike "... and no OPT record is sent to a client without EDNS" "$out" 'OPT PSEUDOSECTION'
# RFC 2181 5.1: 40 A records x 2 active prefixes = 80 AAAA, never cut.
out=$(q +noedns +ignore many.example AAAA)
tap_like "80 synthesized AAAA over UDP without EDNS: TC=1" "$out" 'flags:[^;]* tc[ ;]'
tap_like "... and no partial RRset" "$out" 'ANSWER: 0,'
out=$(q +bufsize=4096 +ignore many.example AAAA)
tap_like "... over EDNS 4096 (more than edns-size 1232): TC=1 too" "$out" 'flags:[^;]* tc[ ;]'
tap_is "... over TCP: all 80" "$(q +tcp +short many.example AAAA | wc -l)" 80
tap_is "... and dig's retry after TC gets all 80" "$(q +short many.example AAAA | wc -l)" 80
# 100 queries on one TCP connection in one write (pipelined, more than the
# 64 a connection may have in flight): two names that synthesize, 98 that
# do not exist (uncached, so they really queue up behind each other).
pipelined=$(lab_in client /usr/bin/python3 - "$LAB_APPL6" <<'EOF'
import socket, struct, sys, dns.message, dns.query
s = socket.create_connection((sys.argv[1], 53), timeout=10)
names = ["www.example", "multi.example"] + ["p%d.nosuch.example" % i for i in range(98)]
qs = [dns.message.make_query(n, "AAAA") for n in names]
for i, q in enumerate(qs):
    q.id = 1000 + i	# unique, so every answer is counted
s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in qs)))
got = {}
try:
    while len(got) < len(qs):
        m = dns.query.receive_tcp(s)[0]
        got[m.id] = sum(len(r) for r in m.answer)
except EOFError:
    pass
print(len(got), got.get(qs[0].id), got.get(qs[1].id))
EOF
)
tap_is "100 pipelined TCP queries on one connection: all answered, in any order" "$pipelined" "100 2 4"

# --- 5.5 DNSSEC: DO/CD against the signed lab zones ---
out=$(q +dnssec dual.example AAAA)
tap_like "DO: a validated real AAAA carries AD" "$out" "$ad"
tap_like "DO: ... and its RRSIG" "$out" 'RRSIG[[:space:]]+AAAA'
out=$(q dual.example AAAA +adflag)
tap_like "AD in the query (RFC 6840 5.7): AD on validated data" "$out" "$ad"
out=$(q +dnssec www.example AAAA)
tap_like "DO without CD: synthesized" "$out" 'AAAA[[:space:]]+64:ff9b::c058:6350'
tap_unlike "... and AD is not set on synthesized data" "$out" "$ad"
out=$(q +dnssec +cd www.example AAAA)
tap_like "DO+CD: no synthesis, the real (empty) answer" "$out" 'status: NOERROR'
tap_like "DO+CD: ... with no AAAA in it" "$out" 'ANSWER: 0,'
out=$(q www.bogus.example AAAA)
tap_like "a bogus zone: SERVFAIL, never replaced by synthesis" "$out" 'status: SERVFAIL'
out=$(q +cd www.bogus.example AAAA)
tap_like "CD without DO on the bogus zone: unvalidated data is synthesized" "$out" \
	'AAAA[[:space:]]+64:ff9b::c058:6350'
out=$(q +noall +comments +dnssec +cd www.bogus.example AAAA)
tap_like "DO+CD on the bogus zone: data as it is, NOERROR" "$out" 'status: NOERROR'

# --- upstream failures ---
start=$SECONDS
out=$(q +time=10 www.dead.example AAAA)
tap_like "a delegation to a silent server: SERVFAIL" "$out" 'status: SERVFAIL'
tap_ok "... within query-timeout (3 s) and a margin" test $((SECONDS - start)) -le 6
# The arpa server answers REFUSED for a zone it does not serve.
out=$(q +time=10 www.lame.example AAAA)
tap_like "a lame delegation (upstream REFUSED): SERVFAIL, not a synthesized answer" "$out" \
	'status: SERVFAIL'

# --- odd and malformed queries ---
tap_like "unknown class (CH) is REFUSED" "$(q -c CH version.bind TXT)" 'status: REFUSED'
tap_like "class 42 is REFUSED" "$(q -c CLASS42 www.example A)" 'status: REFUSED'
out=$(answers www.example ANY)
tap_like "ANY gets the RFC 8482 HINFO" "$out" 'HINFO[[:space:]]+"RFC8482"'
tap_like "EDNS version 1 gets BADVERS" "$(q +edns=1 +noednsneg www.example A)" 'status: BADVERS'
malformed=$(lab_in client /usr/bin/python3 - "$LAB_APPL6" <<'EOF'
import socket, struct, sys
srv = (sys.argv[1], 53)
def ask(wire):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(1.5)
    s.sendto(wire, srv)
    try:
        r = s.recv(65535)
    except socket.timeout:
        return "none"
    if len(r) > len(wire):
        return "amplified"
    return "rcode%d" % (r[3] & 15) if len(r) >= 12 else "short"
hdr = lambda qd=1, an=0, ns=0, ar=0, flags=0x0100: struct.pack("!HHHHHH", 0x1234, flags, qd, an, ns, ar)
cases = [
    ("short header", b"\x12\x34\x01\x00\x00"),
    ("a response", hdr(flags=0x8100) + b"\x03www\x07example\x00\x00\x1c\x00\x01"),
    ("truncated question", hdr() + b"\x03www\x07exa"),
    ("label > 63", hdr() + b"\x40" + b"a" * 64 + b"\x00\x00\x1c\x00\x01"),
    ("name > 255", hdr() + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x1c\x00\x01"),
    ("compression loop", hdr() + b"\xc0\x0c\x00\x1c\x00\x01"),
    ("forward pointer", hdr() + b"\xc0\x20\x00\x1c\x00\x01" + b"\x00" * 20),
    ("qdcount 2", hdr(qd=2) + b"\x03www\x07example\x00\x00\x1c\x00\x01"),
    ("arcount beyond the packet", hdr(ar=3) + b"\x03www\x07example\x00\x00\x1c\x00\x01"),
    ("bad OPT (not root)", hdr(ar=1) + b"\x03www\x07example\x00\x00\x1c\x00\x01" +
        b"\x01a\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"),
    ("two OPTs", hdr(ar=2) + b"\x03www\x07example\x00\x00\x1c\x00\x01" +
        (b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00") * 2),
    ("opcode 5 (UPDATE)", hdr(flags=0x2800) + b"\x03www\x07example\x00\x00\x06\x00\x01"),
]
print(";".join("%s=%s" % (n, ask(w)) for n, w in cases))
EOF
)
want="short header=none;a response=none;truncated question=rcode1;label > 63=rcode1"
want+=";name > 255=rcode1;compression loop=rcode1;forward pointer=rcode1;qdcount 2=rcode1"
want+=";arcount beyond the packet=rcode1;bad OPT (not root)=rcode1;two OPTs=rcode1"
want+=";opcode 5 (UPDATE)=rcode4"
tap_is "malformed queries: FORMERR/NOTIMP where a reply is safe, silence otherwise" \
	"$malformed" "$want"
tap_ok "sixfourd is still running after the malformed queries" lab__alive "$LAB_SIXFOURD_PID"
stats=$(lab_ctl dns stats)
tap_like "malformed queries are counted by reason" "$(sed -n '/^malformed:/,/^[a-z]/p' <<<"$stats")" \
	'^ +bad_compression_pointer +[1-9]'
tap_like "... and unreplyable ones as drops" "$stats" 'drop_unreplyable +[2-9]'

# --- the answer cache ---
before=$(lab_ctl dns stats | awk '$1 == "cache_hits" { print $2 }')
q www2.example AAAA >/dev/null
t1=$(ttl_of www2.example)
after=$(lab_ctl dns stats | awk '$1 == "cache_hits" { print $2 }')
tap_ok "a repeated query is a cache hit ($before -> $after)" test "$after" -gt "$before"
lab_wait 5 sh -c "test \"\$(lab_in client dig +noall +answer @$LAB_APPL6 www2.example AAAA | awk '{print \$2; exit}')\" -lt $t1"
t2=$(ttl_of www2.example)
tap_ok "cached TTLs age on the way out ($t1 -> $t2)" test "${t2:-999}" -lt "${t1:-0}"
tap_like "the cache key keeps case apart from the answer (0x20)" \
	"$(answers WwW.ExAmPlE AAAA)" '^WwW\.ExAmPlE\.'
out=$(lab_ctl flush)
tap_like "sixfourctl flush empties the cache" "$out" 'flushed [1-9][0-9]* cached answers'
tap_like "... dns cache shows it empty" "$(lab_ctl dns cache)" '^entries 0,'

# --- export ---
out=$(lab_ctl export bind)
tap_like "export bind: a dns64 block for the WKP" "$out" 'dns64 64:ff9b::/96 \{'
tap_like "... and one for site2 (every synthesized prefix)" "$out" 'dns64 2001:db8:64::/96 \{'
tap_unlike "... but none for the drained prefix" "$out" '2001:db8:65::'
tap_like "... with the exclude list" "$out" 'exclude \{ ::ffff:[0-9.:]+/96; 2001:db8::/32; \}'
printf 'options {\n\tdirectory "%s";\n%s\n};\n' "$LAB_DIR" "$out" >"$LAB_DIR/named.conf"
tap_ok "named-checkconf accepts the export" named-checkconf "$LAB_DIR/named.conf"
lab_ctl export unbound >"$LAB_DIR/unbound-export.conf"
tap_ok "unbound-checkconf accepts the export" unbound-checkconf "$LAB_DIR/unbound-export.conf"
tap_like "... and it names what Unbound cannot express" "$(cat "$LAB_DIR/unbound-export.conf")" \
	'not expressible: a further prefix 2001:db8:64::/96'


# --- the prefix set changes: synthesized answers follow ---
qs www.example AAAA >/dev/null
sed -i '/^\[prefix site2\]/,/^$/d' "$LAB_DIR/etc/sixfour.ini"
lab_ctl reload >/dev/null
tap_is "after a reload without site2, cached synthesized answers are gone" \
	"$(qs www.example AAAA)" "64:ff9b::c058:6350"

cp "$LAB_DIR/etc/sixfour.ini" "$LAB_DIR/good.ini"
echo "unbound-option = no-such-option: 1" >>"$LAB_DIR/etc/sixfour.ini"
out=$(lab_ctl reload 2>&1)
tap_ok "a reload with an option libunbound rejects fails" test $? -ne 0
tap_like "... and says which option" "$out" 'no-such-option'
sed -i 's/^listen = .*//; /^\[dns64\]/a listen = [::1]:5300' "$LAB_DIR/etc/sixfour.ini"
sed -i '/no-such-option/d' "$LAB_DIR/etc/sixfour.ini"
out=$(lab_ctl reload 2>&1)
tap_like "a reload that moves the listen address is refused (needs a restart)" "$out" 'need a restart'
cp "$LAB_DIR/good.ini" "$LAB_DIR/etc/sixfour.ini"
tap_is "... and the running resolver still answers" "$(qs www.example AAAA)" "64:ff9b::c058:6350"
tap_like "metrics: DNS64 counters in the Prometheus format" "$(lab_ctl metrics)" \
	'sixfour_dns64_events_total\{kind="synthesized"\} [1-9]'

# --- the README demo: the client's own resolver gets synthesized AAAA ---
out=$(lab_in client getent ahostsv6 www.example)
tap_like "getent in the IPv6-only client resolves www.example to 64:ff9b::c058:6350" \
	"$out" '^64:ff9b::c058:6350'

lab_sixfourd_stop
tap_ok "sixfourd exits cleanly on SIGTERM" test $? -eq 0

# --- ACL and rate limit (own config) ---
cat >"$LAB_DIR/acl.ini" <<EOF
$(lab_ini_dns64)
allow = 2001:db8:1::200/128, 127.0.0.0/8
$(lab_ini_disable health)
EOF
lab_sixfourd_start "$LAB_DIR/acl.ini"
tap_like "a client outside allow gets REFUSED" "$(q www.example AAAA)" 'status: REFUSED'
lab_sixfourd_stop

cat >"$LAB_DIR/tcp.ini" <<EOF
$(lab_ini_dns64)
tcp-idle-timeout = 1s
tcp-max-connections = 2
$(lab_ini_disable health)
EOF
lab_sixfourd_start "$LAB_DIR/tcp.ini"
tcp=$(lab_in client /usr/bin/python3 - "$LAB_APPL6" <<'EOF'
import socket, sys, time
srv = (sys.argv[1], 53)
def closed_within(s, secs):
    s.settimeout(secs)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
a = socket.create_connection(srv, timeout=3)
time.sleep(0.2)
b = socket.create_connection(srv, timeout=3)
time.sleep(0.2)
c = socket.create_connection(srv, timeout=3)
evicted = closed_within(a, 0.8)
b.close(); c.close()
d = socket.create_connection(srv, timeout=3)
t0 = time.monotonic()
idle = closed_within(d, 4)
took = time.monotonic() - t0
print("evicted=%s idle=%s after=%.1f" % (evicted, idle, took))
EOF
)
tap_like "TCP: the oldest idle connection makes room when the limit is reached" "$tcp" 'evicted=True'
tap_like "TCP: an idle connection is closed after tcp-idle-timeout" "$tcp" 'idle=True after=(0\.[89]|1\.[0-9])'
stats=$(lab_ctl dns stats)
tap_like "... both are counted" "$stats" 'tcp_evicted +[1-9]'
lab_sixfourd_stop

cat >"$LAB_DIR/rl.ini" <<EOF
$(lab_ini_dns64)
[ratelimit]
dns-qps = 5
dns-burst = 5
$(lab_ini_disable health)
EOF
lab_sixfourd_start "$LAB_DIR/rl.ini"
rl=$(lab_in client /usr/bin/python3 - "$LAB_APPL6" <<'EOF'
import socket, sys, dns.message, dns.flags
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(3)
q = dns.message.make_query("ipv4only.arpa", "AAAA", use_edns=0, payload=4096)
w = q.to_wire()
for i in range(60):
    s.sendto(w, (sys.argv[1], 53))
full = tc = bigger = 0
try:
    for i in range(60):
        r = s.recv(65535)
        m = dns.message.from_wire(r)
        if m.flags & dns.flags.TC:
            tc += 1
            if len(r) > len(w):
                bigger += 1
        else:
            full += 1
except socket.timeout:
    pass
print(full, tc, bigger)
EOF
)
read -r full tc bigger <<<"$rl"
tap_ok "rate limit: only about the burst gets full answers ($full of 60)" test "${full:-99}" -le 7
tap_ok "... one in two of the rest gets TC (slip 2; $tc)" test "${tc:-0}" -ge 20 -a "${tc:-99}" -le 35
tap_is "... and no rate-limited reply is larger than its query" "${bigger:-x}" 0
stats=$(lab_ctl dns stats)
tap_like "the slips are counted" "$stats" 'rl_client_slipped +[1-9][0-9]'
tap_like "... and the drops" "$stats" 'rl_client_dropped +[1-9][0-9]'
lab_sixfourd_stop

# --- the README demo with the embedded default configuration: recursion
# from libunbound's built-in root hints (the lab serves the root on the
# real root addresses) and the Well-Known Prefix ---
lab_sixfourd_start
out=$(lab_in client getent ahostsv6 www.example)
tap_like "default config: the client resolves www.example to 64:ff9b::c058:6350" \
	"$out" '^64:ff9b::c058:6350'
lab_sixfourd_stop

tap_done
