#!/bin/bash
# The translator end to end in the lab: an IPv6-only client reaches the
# IPv4-only servers through sixfourd's NAT64 (default config: the
# well-known prefix, pool4 = the appliance's own address, ports
# 61001-65535 steered by nftables). Behind an IPv4 router "rt" sits a far
# server on a smaller-MTU link for tracepath and PMTU.
#
#   client --(1280)-- appl ==bridge== server 192.88.99.80
#                            \== rt 192.88.99.2 --(1100)-- far 192.88.98.80
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_require curl socat tracepath nft
tap_plan 33
lab_setup
UDP=$top_srcdir/tests/netns/nat64_udp.py
WKP=64:ff9b::
SERVER6=${WKP}$LAB_SERVER4
canon6() { python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]))' "$1"; }
SERVER6C=$(canon6 "$SERVER6")	# as sockets print it: 64:ff9b::c058:6350
RT4=192.88.99.2
FAR4=192.88.98.80
FAR6=${WKP}$FAR4

# --- the extra IPv4 router and far server ---
RT=$LAB_ID-rt FAR=$LAB_ID-far
EXTRA_PIDS=()
extra_cleanup() {
	local p
	for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for ns in "$RT" "$FAR"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}
lab_at_exit extra_cleanup
for ns in "$RT" "$FAR"; do
	flock /tmp/sixfour-lab.lock ip netns add "$ns" || exit 1
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip link add "${LAB_ID}r" netns "$RT" type veth peer name "${LAB_ID}ar" netns "$LAB_NS_APPL"
ip -n "$LAB_NS_APPL" link set "${LAB_ID}ar" master "$LAB_IF_APPL4" up
ip link add "${LAB_ID}rf" netns "$RT" type veth peer name "${LAB_ID}f" netns "$FAR"
ip -n "$RT" addr add $RT4/24 dev "${LAB_ID}r"
ip -n "$RT" addr add 192.88.98.1/24 dev "${LAB_ID}rf"
ip -n "$FAR" addr add $FAR4/24 dev "${LAB_ID}f"
for l in "${LAB_ID}r@$RT" "${LAB_ID}rf@$RT" "${LAB_ID}f@$FAR"; do
	ip -n "${l#*@}" link set "${l%@*}" up
done
# The smaller IPv4 link, and the 1280 IPv6 link.
ip -n "$RT" link set "${LAB_ID}rf" mtu 1100
ip -n "$FAR" link set "${LAB_ID}f" mtu 1100
ip -n "$LAB_NS_CLIENT" link set "$LAB_IF_CLIENT" mtu 1280
ip -n "$LAB_NS_APPL" link set "$LAB_IF_APPL6" mtu 1280
ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1
ip -n "$FAR" route add default via 192.88.98.1
ip -n "$LAB_NS_APPL" route add 192.88.98.0/24 via $RT4
lab_wait 10 lab_in appl ping -c1 -W1 $FAR4 || lab_bail "far server unreachable"

# --- servers ---
lab_server_http 8080
lab_server_echo udp 7000
lab_server_echo tcp 7001
ip netns exec "$FAR" python3 -u "$LAB_DIR/echo.py" udp 7000 >"$LAB_DIR/far-udp.log" 2>&1 &
EXTRA_PIDS+=($!)
ip netns exec "$FAR" python3 -u "$LAB_DIR/echo.py" tcp 7001 >"$LAB_DIR/far-tcp.log" 2>&1 &
EXTRA_PIDS+=($!)
lab_wait 10 sh -c "ip netns exec $FAR ss -ltn | grep -q ':7001 '"

# --- sixfourd: DNS64 too when it runs; else the translator alone ---
lab_dns_start
cat >"$LAB_DIR/nat64.ini" <<EOF
[general]
workers = 2
EOF
BYNAME=1
if ! lab_sixfourd_start "$LAB_DIR/nat64.ini" >/dev/null 2>&1; then
	BYNAME=
	printf '[general]\nworkers = 2\n[dns64]\nenable = no\n' >"$LAB_DIR/nat64.ini"
	lab_sixfourd_start "$LAB_DIR/nat64.ini" || lab_bail "sixfourd"
fi
RESERVED_BEFORE=$(lab_in appl cat /proc/sys/net/ipv4/ip_local_reserved_ports)

# --- set-up ---
tap_ok "TUN device sixfour0 is up" sh -c "ip -n $LAB_NS_APPL link show sixfour0 | grep -q UP"
tap_ok "route for the well-known prefix into the TUN" \
	sh -c "ip -n $LAB_NS_APPL -6 route show 64:ff9b::/96 | grep -q sixfour0"
tap_ok "policy rule for steered packets ahead of the local table" \
	sh -c "ip -n $LAB_NS_APPL rule | head -1 | grep -q 'fwmark 0x64640001 lookup 6464'"
tap_ok "nftables table inet sixfour" lab_in appl nft list table inet sixfour
tap_like "shared pool4 ports reserved from local sockets" \
	"$(lab_in appl cat /proc/sys/net/ipv4/ip_local_reserved_ports)" "61001-65535"

# --- traffic ---
tap_ok "ping through the translator" lab_in client ping -6 -c2 -W2 "$SERVER6"
tap_is "curl by literal prefix address" \
	"$(lab_in client curl -sS -m10 "http://[$SERVER6]:8080/")" "$LAB_HTTP_TEXT"
if [ -n "$BYNAME" ]; then
	tap_is "curl by name through DNS64" \
		"$(lab_in client curl -sS -m10 http://www.example:8080/)" "$LAB_HTTP_TEXT"
else
	tap_skip "curl by name through DNS64" "sixfourd's DNS64 did not start in this tree"
fi
out=$(lab_in client python3 "$UDP" send "$SERVER6" 7000 100)
tap_like "UDP to the IPv4 server and back" "$out" "^reply 100 1 $SERVER6C 7000"

# Inbound: with endpoint-independent filtering a second IPv4 endpoint may
# use the mapping the client opened (RFC 6146 3.5.1, RFC 4787).
lab_in client python3 "$UDP" send "$SERVER6" 7000 10 :: 40123 20 >"$LAB_DIR/inbound.out" &
cpid=$!
lab_wait 10 grep -q "^reply" "$LAB_DIR/inbound.out"
mapped=$(grep -o 'peer 192.88.99.1:[0-9]*' "$LAB_DIR/echo-udp-7000.log" | tail -1)
mport=${mapped##*:}
tap_ok "the client's UDP flow is mapped into 61001-65535" test "${mport:-0}" -ge 61001
lab_in server python3 "$UDP" once 7100 "$LAB_APPL4" "${mport:-1}" inbound
lab_wait 8 grep -q "^extra" "$LAB_DIR/inbound.out"
wait $cpid
tap_like "UDP initiated from the IPv4 side reaches the client" \
	"$(cat "$LAB_DIR/inbound.out")" "extra 7 $SERVER6C 7100"

# Large datagrams: fragmented both ways on the 1280/1100 links.
out=$(lab_in client python3 "$UDP" send "$FAR6" 7000 4000)
tap_like "4000-octet UDP datagram out and back (fragments)" "$out" "^reply 4000 1 "
head -c 300000 /dev/urandom >"$LAB_DIR/blob"
lab_in client socat -t10 -T20 - "TCP6:[$FAR6]:7001,shut-down" <"$LAB_DIR/blob" >"$LAB_DIR/blob.back"
tap_is "300 kB over TCP through the 1280 and 1100 links, both directions" \
	"$(sha1sum <"$LAB_DIR/blob.back")" "$(sha1sum <"$LAB_DIR/blob")"

# tracepath: the router's Time Exceeded comes back translated, from its
# address under the prefix; the hop limit runs out at the translator too.
tp=$(lab_in client tracepath -n -m 6 "$FAR6" 2>&1)
tap_like "tracepath shows the IPv4 router as a translated hop" "$tp" "${WKP}c058:6302|${WKP}192.88.99.2"
tap_like "tracepath reaches the far server" "$tp" "${WKP}c058:6250|Resume: pmtu"

# Packet Too Big <-> Fragmentation Needed: with a 1500 IPv6 link the
# client's 1500-octet probes become 1480-octet IPv4 packets with DF set;
# the router's Fragmentation Needed (MTU 1400 for this check) comes back
# through the translator as Packet Too Big with 1400 + 20.
ip -n "$LAB_NS_CLIENT" link set "$LAB_IF_CLIENT" mtu 1500
ip -n "$LAB_NS_APPL" link set "$LAB_IF_APPL6" mtu 1500
ip -n "$RT" link set "${LAB_ID}rf" mtu 1400
tp=$(lab_in client tracepath -n -m 6 "$FAR6" 2>&1)
tap_like "PMTU discovery through the translator: Frag Needed 1400 -> pmtu 1420" "$tp" \
	"(c058:6302|192.88.99.2) .*pmtu 1420"
ip -n "$RT" link set "${LAB_ID}rf" mtu 1100
ip -n "$LAB_NS_CLIENT" link set "$LAB_IF_CLIENT" mtu 1280
ip -n "$LAB_NS_APPL" link set "$LAB_IF_APPL6" mtu 1280

# Hairpinning (RFC 6146 3.8): one IPv6 client reaches another through the
# other's pool4 mapping.
ip -n "$LAB_NS_CLIENT" addr add 2001:db8:1::200/64 dev "$LAB_IF_CLIENT" nodad
lab_in client python3 "$UDP" send "$SERVER6" 7000 10 2001:db8:1::200 40200 20 >"$LAB_DIR/hp.out" &
hpid=$!
lab_wait 10 grep -q "^reply" "$LAB_DIR/hp.out"
mapped=$(grep -o 'peer 192.88.99.1:[0-9]*' "$LAB_DIR/echo-udp-7000.log" | tail -1)
hport=${mapped##*:}
lab_in client python3 "$UDP" once 40300 "${WKP}$LAB_APPL4" "${hport:-1}" hairpin
lab_wait 8 grep -q "^extra" "$LAB_DIR/hp.out"
wait $hpid
tap_like "hairpin: a client reaches another client's mapping" "$(cat "$LAB_DIR/hp.out")" \
	"extra 7 ${WKP}c058:6301 6[1-5][0-9]{3}"

# --- control commands ---
sess=$(lab_ctl nat64 sessions)
tap_like "sessions lists the TCP flow" "$sess" "^tcp +\[2001:db8:1::100\]"
tap_like "sessions lists the UDP mapping" "$sess" "udp +\[2001:db8:1::100\]:40123"
json=$(lab_ctl --json nat64 sessions)
tap_ok "sessions --json is valid JSON with entries" python3 -c \
	"import json,sys; d=json.loads(sys.argv[1]); assert len(d) >= 3 and 'pool_port' in d[0]" "$json"
stats=$(lab_ctl --json nat64 stats)
tap_ok "stats counts translated packets both ways" python3 -c \
	"import json,sys; d=json.loads(sys.argv[1]); p=d['packets']; assert p['tx4']>20 and p['tx6']>20 and p['hairpinned']>=1, p" "$stats"
tap_ok "stats has per-/32 traffic of the client" python3 -c \
	"import json,sys; d=json.loads(sys.argv[1]); assert any(t['prefix']=='2001:db8::/32' and t['packets']>20 for t in d['traffic'])" "$stats"
tap_ok "stats has drop counters by reason" python3 -c \
	"import json,sys; d=json.loads(sys.argv[1]); assert 'NO_SESSION' in d['drops'] and 'POOL_EXHAUSTED' in d['drops']" "$stats"
grep -q "2001:db8:1::100" "$LAB_DIR/sixfourd.log"
tap_is "sessions are never written to the log" "$?" 1

# --- a local socket on the appliance never takes a translator port ---
lab_in appl sysctl -qw net.ipv4.ip_local_port_range="32768 65535"
ports=$(lab_in appl python3 -c '
import socket
ps = []
for _ in range(3000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("192.88.99.1", 0)); ps.append(s)
print(sum(1 for s in ps if s.getsockname()[1] >= 61001))')
tap_is "3000 local binds: none in the translator's range" "$ports" 0
tap_is "the appliance's own connections still work" \
	"$(lab_in appl curl -sS -m5 "http://$LAB_SERVER4:8080/")" "$LAB_HTTP_TEXT"

# --- restart leaves nothing behind ---
lab_sixfourd_stop
tap_ok "no TUN device after exit" sh -c "! ip -n $LAB_NS_APPL link show sixfour0 2>/dev/null"
tap_ok "no route to the prefix after exit" \
	sh -c "[ -z \"\$(ip -n $LAB_NS_APPL -6 route show 64:ff9b::/96)\" ]"
tap_ok "no route in table 6464 after exit" \
	sh -c "[ -z \"\$(ip -n $LAB_NS_APPL route show table 6464 2>/dev/null)\" ]"
tap_ok "policy rules as before (local at 0, no fwmark rule)" \
	sh -c "ip -n $LAB_NS_APPL rule | grep -q '^0:.*lookup local' && ! ip -n $LAB_NS_APPL rule | grep -q fwmark"
tap_ok "no nftables table after exit" sh -c "! ip netns exec $LAB_NS_APPL nft list table inet sixfour 2>/dev/null"
tap_is "reserved ports restored" "$(lab_in appl cat /proc/sys/net/ipv4/ip_local_reserved_ports)" \
	"$(echo "$RESERVED_BEFORE" | sed 's/,\?61001-65535//')"
lab_sixfourd_start "$LAB_DIR/nat64.ini" >/dev/null 2>&1
tap_is "after a restart traffic flows again" \
	"$(lab_in client curl -sS -m10 "http://[$SERVER6]:8080/")" "$LAB_HTTP_TEXT"
tap_done
