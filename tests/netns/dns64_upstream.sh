#!/bin/bash
# DNS64 against a misbehaving upstream (RFC 6147 5.1.2-5.1.4): a small
# authoritative server of this test's own (dnspython, in the lab's dns
# namespace) that answers A queries and, for AAAA queries, SERVFAIL,
# REFUSED, NOTIMP, nothing at all, or an RRset that mixes excluded and
# usable records: one zone per behaviour (servfail.example. ...), each on
# its own address, so that what libunbound learns about one (a lame
# server, a slow one) does not spill into the next. sixfourd reaches them
# by recursion (delegated from the lab's nsd hierarchy) and as a
# forwarder. A name with an A record whose AAAA lookup fails or goes
# unanswered gets synthesized AAAA records, from the A answer that is
# already in, well before query-timeout; a mixed RRset loses only its
# excluded record.
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
lab_require_root
lab_require dig /usr/bin/python3
tap_plan 25

KINDS=(servfail refused notimp drop mixed plain)
lab_setup
deleg=() addrs=()
for i in "${!KINDS[@]}"; do
	k=${KINDS[$i]} a=192.88.99.$((30 + i))
	lab__must ip -n "$LAB_NS_DNS" addr add "$a/24" dev "$LAB_IF_DNS"
	# Insecure delegations (no DS) from the signed example. zone.
	deleg+=("$k NS ns.$k.example." "ns.$k.example. A $a")
	addrs+=("$k=$a")
done
lab_records example. "${deleg[@]}"
lab_dns_start

mkdir -p "$LAB_DIR/py"	# not beside the lab's dns/ directory, which would shadow dnspython
cat >"$LAB_DIR/py/bad.py" <<'EOF'
# Authoritative for KIND.example. on the address given for it (and, asked
# with RD as a forwarder, the same answers): every name below has the A
# record 192.88.99.80; AAAA queries get what KIND says. One log line per
# AAAA query.
import socket, struct, sys, threading
import dns.flags, dns.message, dns.rcode, dns.rdatatype, dns.rrset
AAAA_RCODE = {"servfail": dns.rcode.SERVFAIL, "refused": dns.rcode.REFUSED,
              "notimp": dns.rcode.NOTIMP}
KINDS = [a.split("=")[0] for a in sys.argv[1:]]
def answer(wire):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    if q.flags & dns.flags.RD:
        r.flags |= dns.flags.RA
    qn = q.question[0].name.to_text().lower()
    qt = q.question[0].rdtype
    labels = qn.split(".")
    kind = labels[-4] if len(labels) >= 4 else ""
    if kind not in KINDS or labels[-3] != "example":
        kind = labels[-3] if len(labels) >= 3 else ""
        if kind not in KINDS or labels[-2] != "example":
            r.set_rcode(dns.rcode.REFUSED)
            return r
    zone = kind + ".example."
    soa = dns.rrset.from_text(zone, 300, "IN", "SOA",
                              "ns.%s host.%s 1 3600 600 86400 300" % (zone, zone))
    apex = qn == zone
    if qt == dns.rdatatype.AAAA and not apex:
        print("AAAA", qn, flush=True)
        if kind == "drop":
            return None
        if kind in AAAA_RCODE:
            r.set_rcode(AAAA_RCODE[kind])
            return r
        if kind == "mixed":
            r.answer.append(dns.rrset.from_text(qn, 300, "IN", "AAAA", "::ffff:192.88.99.80",
                                                "2001:eeee::4"))
            return r
        r.authority.append(soa)
        return r
    if qt == dns.rdatatype.A and not apex:
        r.answer.append(dns.rrset.from_text(qn, 300, "IN", "A", "192.88.99.80"))
    elif qt == dns.rdatatype.SOA and apex:
        r.answer.append(soa)
    elif qt == dns.rdatatype.NS and apex:
        r.answer.append(dns.rrset.from_text(zone, 300, "IN", "NS", "ns." + zone))
    else:
        r.authority.append(soa)
    return r
def udp(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        wire, peer = s.recvfrom(4096)
        try:
            r = answer(wire)
        except Exception:
            continue
        if r is not None:
            s.sendto(r.to_wire(), peer)
def tcp(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 53))
    s.listen(16)
    while True:
        c, _ = s.accept()
        with c:
            try:
                n = struct.unpack("!H", c.recv(2))[0]
                r = answer(c.recv(n))
                if r is not None:
                    w = r.to_wire()
                    c.sendall(struct.pack("!H", len(w)) + w)
            except Exception:
                pass
for a in sys.argv[1:]:
    addr = a.split("=")[1]
    threading.Thread(target=tcp, args=(addr,), daemon=True).start()
    threading.Thread(target=udp, args=(addr,), daemon=True).start()
threading.Event().wait()
EOF
lab_bg dns bad /usr/bin/python3 -u "$LAB_DIR/py/bad.py" "${addrs[@]}"
lab_wait 10 lab_in dns dig +time=1 +tries=1 +short @192.88.99.35 www.plain.example A ||
	lab__bail "the misbehaving server did not start"

ini() { # ini MODE: recursion through the lab's hierarchy, or forward to it
	cat <<EOF
[dns64]
exclude = ::ffff:0:0/96, 2001:db8::/32
query-timeout = 5s
aaaa-wait = 1s
unbound-option = do-ip6: no
EOF
	if [ "$1" = forward ]; then
		# The server signs nothing: validation off for the forwarder.
		printf 'forward = 192.88.99.30\ntrust-anchor = /nonexistent\n'
	else
		echo "root-hints = $LAB_ROOT_HINTS"
	fi
	printf '[health]\nenable = no\n'
}
# dig gives up after 4 s: an answer that waited for query-timeout (5 s)
# never arrives.
q() { lab_in client dig +time=4 +tries=1 @"$LAB_APPL6" "$@"; }
qs() { q +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
ttl_of() { q +noall +answer "$1" AAAA | awk '$4 == "AAAA" { print $2; exit }'; }
WKP=64:ff9b::c058:6350

for mode in recursion forward; do
	ini "$mode" >"$LAB_DIR/$mode.ini"
	lab_sixfourd_start "$LAB_DIR/$mode.ini" || lab__bail "sixfourd did not start ($mode)"
	tap_is "$mode: AAAA SERVFAIL while the A record exists: synthesized (5.1.2)" \
		"$(qs www.servfail.example AAAA)" "$WKP"
	tap_is "$mode: AAAA REFUSED: synthesized (5.1.2)" "$(qs www.refused.example AAAA)" "$WKP"
	tap_is "$mode: AAAA NOTIMP: synthesized (5.1.2)" "$(qs www.notimp.example AAAA)" "$WKP"
	start=$SECONDS
	tap_is "$mode: AAAA never answered: synthesized from the A answer (5.1.3)" \
		"$(qs www.drop.example AAAA)" "$WKP"
	tap_ok "$mode: ... before dig's 4 s, so not after query-timeout ($((SECONDS - start)) s)" \
		test $((SECONDS - start)) -lt 4
	tap_ok "$mode: ... counted as an aaaa-wait expiry ($(lab_dns_stat aaaa_wait_expired))" \
		test "$(lab_dns_stat aaaa_wait_expired)" -ge 1
	ttl=$(ttl_of www.servfail.example)
	tap_ok "$mode: such answers carry a TTL of 30 s at most (got $ttl)" test "${ttl:-99}" -le 30
	tap_is "$mode: a mixed RRset loses its excluded ::ffff record only (5.1.4)" \
		"$(qs www.mixed.example AAAA)" "2001:eeee::4"
	tap_ok "$mode: ... counted as filtered ($(lab_dns_stat passthrough_filtered))" \
		test "$(lab_dns_stat passthrough_filtered)" -ge 1
	tap_ok "$mode: failed-AAAA syntheses are counted ($(lab_dns_stat synthesized_aaaa_failed))" \
		test "$(lab_dns_stat synthesized_aaaa_failed)" -ge 4
	ttl=$(ttl_of www.plain.example)
	tap_ok "$mode: a plain NODATA is synthesized with the usual TTL (min(A, SOA) = 300, got $ttl)" \
		test "${ttl:-0}" -gt 200
	lab_sixfourd_stop
	tap_ok "$mode: sixfourd exits cleanly" test $? -eq 0
done
aaaa=$(grep -c '^AAAA' "$LAB_DIR/bad.log")
tap_ok "the server saw the AAAA queries ($aaaa)" test "$aaaa" -ge 10
tap_done
