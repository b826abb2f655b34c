#!/bin/bash
# DNS64 on a public address, tried as an attacker would, with the embedded
# default limits: spoofed UDP floods sent from the client namespace with
# forged source addresses (AF_PACKET: the kernel checks nothing), the
# replies captured there too (the appl namespace routes the forged
# prefixes back to it).
#  - 256 /56s inside one /48, each well under its own /56 budget: limited
#    at the /48 level (dns-enclosing-qps), never at the /56 level;
#  - forged sources all over the address space asking for large answers
#    (80 synthesized AAAA, DNSSEC data with DO, long TXT): bytes out /
#    bytes in over the whole run stays under dns-amplification (5);
#  - a real client with a valid DNS Cookie (dig +cookie, dnspython) gets
#    the full answer that a client without one only gets over TCP.
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
lab_begin 17 dig /usr/bin/python3
lab_records_seq example. many A '192.88.99.%d' 101 140
lab_records_seq example. medium A '192.88.99.%d' 101 110
lab_records_seq example. bigtxt TXT '"%0200d"' 1 6
lab_dns_start

# The forged prefixes route back to the client namespace, where nothing
# answers them: only the capture sees the replies.
lab__must ip -n "$LAB_NS_APPL" -6 route add 2001:db8:4800::/48 via "$LAB_CLIENT6"
lab__must ip -n "$LAB_NS_APPL" -6 route add 3fff:100::/24 via "$LAB_CLIENT6"

cat >"$LAB_DIR/abuse.ini" <<EOF
[prefix wkp]
prefix = 64:ff9b::/96
[prefix site2]
prefix = 2001:db8:64::/96
$(lab_ini_dns64)
$(lab_ini_disable health)
EOF
lab_sixfourd_start "$LAB_DIR/abuse.ini" || lab_bail "sixfourd did not start"

mkdir -p "$LAB_DIR/py"	# not beside the lab's dns/ directory, which would shadow dnspython
cat >"$LAB_DIR/py/spoof.py" <<'EOF'
# spoof.py IFACE DSTMAC SERVER MODE: sends DNS queries from forged IPv6
# sources straight onto the link and captures the replies to them.
# Prints "sent N bytes_in B replies R bytes_out O tc T wire_in W wire_out X".
import os, random, select, socket, struct, sys, time
import dns.flags, dns.message
from nat64_spoof import udp6	# the lab's UDP/IPv6 packet builder (PYTHONPATH)
iface, dstmac, server, mode = sys.argv[1:5]
ETH_P_IPV6 = 0x86dd
PACKET_IGNORE_OUTGOING = 23
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
s.bind((iface, 0))
# Room for every reply, and none taken by our own frames.
s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)	# SO_RCVBUFFORCE
s.setsockopt(263, PACKET_IGNORE_OUTGOING, 1)	# SOL_PACKET
srcmac = s.getsockname()[4]
out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
out.bind((iface, 0))
dst = socket.inet_pton(socket.AF_INET6, server)
dmac = bytes.fromhex(dstmac.replace(":", ""))
def frame(src, payload, sport):
    return dmac + srcmac + struct.pack("!H", ETH_P_IPV6) + udp6(src, dst, sport, 53, payload)
def query(name, qtype, do=False):
    q = dns.message.make_query(name, qtype, use_edns=0, payload=4096, want_dnssec=do)
    q.id = random.randrange(65536)
    return q.to_wire()
sources = []
if mode == "one48":
    # 256 /56s of 2001:db8:4800::/48, 8 queries each.
    for n in range(256):
        a = bytearray(socket.inet_pton(socket.AF_INET6, "2001:db8:4800::1"))
        a[6] = n
        sources += [bytes(a)] * 8
    names = [("www.example", "AAAA", False)]
else:
    # 4096 forged /48s under 3fff:100::/24, 4 queries each, large answers.
    for n in range(4096):
        a = bytearray(socket.inet_pton(socket.AF_INET6, "3fff:100::1"))
        a[3], a[4] = n >> 8, n & 0xff
        sources += [bytes(a)] * 4
    names = [("many.example", "AAAA", False), ("dual.example", "AAAA", True),
             ("bigtxt.example", "TXT", True), ("medium.example", "AAAA", False)]
random.shuffle(sources)
sent = bytes_in = wire_in = 0
replies = bytes_out = wire_out = tc = 0
def drain(timeout):
    global replies, bytes_out, wire_out, tc
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return
        f = s.recv(65535)
        ip = f[14:]
        if len(ip) < 48 or ip[6] != 17 or ip[:1][0] >> 4 != 6:
            continue
        if struct.unpack("!H", ip[40:42])[0] != 53 or ip[8:24] != dst:
            continue
        payload = ip[48:]
        replies += 1
        bytes_out += len(payload)
        wire_out += len(ip)
        if len(payload) > 3 and payload[2] & 0x02:
            tc += 1
t0 = time.monotonic()
for i, src in enumerate(sources):
    name, qtype, do = names[i % len(names)]
    w = query(name, qtype, do)
    out.send(frame(src, w, 1024 + i % 60000))
    sent += 1
    bytes_in += len(w)
    wire_in += 48 + len(w)
    if i % 64 == 63:
        drain(0)
        time.sleep(0.001)
took = time.monotonic() - t0
drain(2.0)
print("sent %d bytes_in %d replies %d bytes_out %d tc %d wire_in %d wire_out %d took %.2f" %
      (sent, bytes_in, replies, bytes_out, tc, wire_in, wire_out, took))
EOF
appl_mac=$(ip -n "$LAB_NS_APPL" -o link show "$LAB_IF_APPL6" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
spoof() {
	lab_in client env PYTHONPATH="$src/tests/netns" /usr/bin/python3 "$LAB_DIR/py/spoof.py" \
		"$LAB_IF_CLIENT" "$appl_mac" "$LAB_APPL6" "$1"
}
# Warm the cache so the flood measures the limits, not the recursion.
for n in www.example many.example medium.example; do
	lab_in client dig +short +tcp @"$LAB_APPL6" "$n" AAAA >/dev/null
done
lab_in client dig +short +tcp +dnssec @"$LAB_APPL6" dual.example AAAA >/dev/null
lab_in client dig +short +tcp +dnssec @"$LAB_APPL6" bigtxt.example TXT >/dev/null

# --- one /48, many /56s ---
read -r _ sent _ bin _ replies _ bout _ tc _ _ _ _ _ took <<<"$(spoof one48)"
enc=$(( $(lab_dns_stat rl_enclosing_slipped) + $(lab_dns_stat rl_enclosing_dropped) + 0 ))
cli=$(( $(lab_dns_stat rl_client_slipped) + $(lab_dns_stat rl_client_dropped) + 0 ))
tap_diag "one /48: sent $sent in $took s, $replies replies ($tc TC), limited at the /48: $enc, at a /56: $cli"
# What the /48 may answer: its burst (800) and 400/s while the flood lasts.
allowed=$(awk -v t="$took" 'BEGIN { printf "%d", 800 + 400 * t }')
tap_is "the forged queries were all sent" "$sent" 2048
tap_ok "a flood from 256 /56s of one /48 is limited at the /48 level ($enc of 2048)" \
	test "$enc" -ge $((2048 - allowed - 100)) -a "$enc" -gt 0
tap_is "... and no /56 of it was over its own budget" "$cli" 0
answered=$((replies - tc))
tap_ok "... so only about the /48's budget got answers ($answered; burst 800 + 400/s x $took s = $allowed)" \
	test "$answered" -ge 700 -a "$answered" -le $((allowed + 100))
tap_ok "... and about one limited query in two got TC (slip 2: $tc of $enc)" \
	test "$tc" -gt 0 -a "$tc" -ge $((enc / 3)) -a "$tc" -le $((enc * 2 / 3))

# --- forged sources everywhere, large answers ---
read -r _ sent _ bin _ replies _ bout _ tc _ win _ wout _ _ <<<"$(spoof world)"
ratio=$(awk -v o="$bout" -v i="$bin" 'BEGIN { printf "%.2f", o / i }')
wire=$(awk -v o="$wout" -v i="$win" 'BEGIN { printf "%.2f", o / i }')
tap_diag "forged /48s: $sent queries ($bin octets), $replies replies ($bout octets, $tc TC):" \
	"amplification $ratio in DNS payload, $wire on the wire"
tap_is "16384 forged queries for large answers were sent" "$sent" 16384
tap_ok "they were answered ($replies replies)" test "$replies" -ge 8000
tap_ok "bytes out / bytes in over the run stays under dns-amplification 5 ($ratio)" \
	awk -v r="$ratio" 'BEGIN { exit !(r < 5) }'
tap_ok "... on the wire too ($wire)" awk -v r="$wire" 'BEGIN { exit !(r < 5) }'
tap_ok "large answers to forged sources went out as TC ($(lab_dns_stat truncated_amplification))" \
	test "$(lab_dns_stat truncated_amplification)" -ge 4000
tap_ok "sixfourd is still running" lab__alive "$LAB_SIXFOURD_PID"

# --- a real client with a cookie gets it all (20 AAAA, 605 octets) ---
out=$(lab_in client dig +cookie +ignore @"$LAB_APPL6" medium.example AAAA)
tap_like "dig +cookie without a server cookie yet: TC (over 5 x the query)" "$out" \
	'flags:[^;]* tc[ ;]'
cookie=$(sed -n 's/^; COOKIE: \([0-9a-f]*\).*/\1/p' <<<"$out")
tap_ok "... and the reply carries a server cookie (${cookie:-none})" test ${#cookie} -eq 48
out=$(lab_in client dig +cookie="$cookie" +ignore @"$LAB_APPL6" medium.example AAAA)
tap_like "dig +cookie=<that cookie>: the full answer over UDP" "$out" 'ANSWER: 20,'
tap_like "... verified by the server (dig says good)" "$out" 'COOKIE: [0-9a-f]+ \(good\)'
py=$(lab_in client /usr/bin/python3 - "$LAB_APPL6" <<'EOF'
import os, sys, dns.edns, dns.flags, dns.message, dns.query
srv = sys.argv[1]
def ask(cookie):
    q = dns.message.make_query("medium.example", "AAAA", use_edns=0, payload=1232,
                               options=[dns.edns.GenericOption(10, cookie)])
    r = dns.query.udp(q, srv, timeout=3)
    got = [getattr(o, "data", None) or bytes(o.client) + bytes(o.server or b"") for o in r.options if o.otype == 10]
    return r, got[0] if got else b""
client = os.urandom(8)
r1, c1 = ask(client)
r2, c2 = ask(c1)
n = sum(len(rr) for rr in r2.answer)
print("first_tc=%d cookie=%d second_tc=%d answers=%d same_client=%d" %
      (bool(r1.flags & dns.flags.TC), len(c1), bool(r2.flags & dns.flags.TC), n,
       c2[:8] == client))
EOF
)
tap_is "dnspython: TC first, then with the server cookie all 20 records over UDP" "$py" \
	"first_tc=1 cookie=24 second_tc=0 answers=20 same_client=1"
tap_ok "the valid cookies are counted ($(lab_dns_stat cookie_valid))" test "$(lab_dns_stat cookie_valid)" -ge 2
lab_sixfourd_stop
tap_done
