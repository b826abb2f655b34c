#!/bin/bash
# The translator's packet core (nat64/ RFC 7915 steps) between real Linux
# stacks, without the session table: tests/netns/xlate_tun runs the steps
# behind a TUN device with a fixed one-client mapping. Checks ping, UDP,
# TCP (curl), large UDP datagrams (fragments both ways), tracepath (Time
# Exceeded from the translator and translated from IPv4 routers) and path
# MTU discovery both ways (Fragmentation Needed <-> Packet Too Big).
#
#   client 2001:db8:64::2 --(c0/x0)-- xlat [TUN xl0] 192.88.99.1 --
#     192.88.99.2 router 192.88.99.5 --(MTU 1000)-- 192.88.99.6 server
#
# Needs root; builds and removes its own namespaces.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${top_builddir:-$src/build}
. "$src/tests/netns/lib.sh"
lab_require_root
harness=$bld/tests/netns/xlate_tun
[ -x "$harness" ] || { echo "1..0 # SKIP $harness not built"; exit 0; }
tap_plan 11
id=xl$$
C=$id-c X=$id-x R=$id-r S=$id-s
tmp=$(mktemp -d)
pids=()
cleanup() {
	tap_missing
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for ns in "$C" "$X" "$R" "$S"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

SERVER=192.88.99.6
SERVER6=64:ff9b::c058:6306	# 192.88.99.6 under the Well-Known Prefix
ROUTER6=64:ff9b::c058:6302	# the IPv4 router as the client sees it
OWN6=2001:db8:64::64		# the translator's own errors
POOL4=198.51.100.1

for ns in "$C" "$X" "$R" "$S"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add "$id-c0" netns "$C" type veth peer name "$id-x0" netns "$X"
ip link add "$id-x1" netns "$X" type veth peer name "$id-r0" netns "$R"
ip link add "$id-r1" netns "$R" type veth peer name "$id-s0" netns "$S"
ip -n "$R" link set "$id-r1" mtu 1000; ip -n "$S" link set "$id-s0" mtu 1000
for l in "$C:$id-c0" "$X:$id-x0" "$X:$id-x1" "$R:$id-r0" "$R:$id-r1" "$S:$id-s0"; do
	ip -n "${l%%:*}" link set "${l#*:}" up
done
ip -n "$C" addr add 2001:db8:64::2/64 dev "$id-c0" nodad
ip -n "$C" route add default via 2001:db8:64::1
ip -n "$X" addr add 2001:db8:64::1/64 dev "$id-x0" nodad
ip -n "$X" addr add 192.88.99.1/30 dev "$id-x1"
ip -n "$X" route add 192.88.99.4/30 via 192.88.99.2
ip -n "$R" addr add 192.88.99.2/30 dev "$id-r0"
ip -n "$R" addr add 192.88.99.5/30 dev "$id-r1"
ip -n "$R" route add "$POOL4/32" via 192.88.99.1
ip -n "$S" addr add "$SERVER/30" dev "$id-s0"
ip -n "$S" route add default via 192.88.99.5
for ns in "$X" "$R"; do
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done

ip -n "$X" tuntap add dev xl0 mode tun
ip netns exec "$X" "$harness" xl0 64:ff9b::/96 2001:db8:64::2 "$POOL4" 192.88.99.1 "$OWN6" 1500 1500 \
	>"$tmp/harness.out" 2>"$tmp/harness.err" &
pids+=($!)
lab_wait 5 grep -q ready "$tmp/harness.out" ||
	{ echo "Bail out! the xlate_tun harness did not start"; sed 's/^/# /' "$tmp/harness.err"; exit 1; }
ip -n "$X" link set xl0 up mtu 1500
ip -n "$X" route add 64:ff9b::/96 dev xl0
ip -n "$X" route add "$POOL4/32" dev xl0
ip -n "$X" addr add "$OWN6/128" dev lo nodad

# Servers: UDP echo and HTTP on the IPv4-only host. Background jobs are
# started as `ip netns exec` directly, which execs: $! is the process.
cat >"$tmp/udp_echo.py" <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7007))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
EOF
ip netns exec "$S" /usr/bin/python3 "$tmp/udp_echo.py" &
pids+=($!)
mkdir "$tmp/www"; head -c 300000 /dev/urandom >"$tmp/www/blob"
(cd "$tmp/www" && exec ip netns exec "$S" /usr/bin/python3 -m http.server --bind 0.0.0.0 8080) \
	>/dev/null 2>&1 &
pids+=($!)
http_listening() { nsx "$S" ss -ltnH "sport = :8080" | grep -q 8080; }
lab_wait 10 http_listening

cat >"$tmp/udp_client.py" <<'EOF'
import os, socket, sys
size, dst = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(1)
payload = os.urandom(size)
for attempt in range(5):
    s.sendto(payload, (dst, 7007))
    try:
        data, _ = s.recvfrom(65535)
    except socket.timeout:
        continue
    sys.exit(0 if data == payload else 1)
sys.exit(2)
EOF

tap_ok "ping: ICMPv6 echo to an IPv4-only host and back" \
	nsx "$C" ping -6 -c 2 -W 2 "$SERVER6"
tap_ok "UDP echo both ways (100 octets)" \
	nsx "$C" /usr/bin/python3 "$tmp/udp_client.py" 100 "$SERVER6"
tap_ok "large UDP (6000 octets): IPv6 fragments reassembled, IPv4 fragments re-cut to 1280" \
	nsx "$C" /usr/bin/python3 "$tmp/udp_client.py" 6000 "$SERVER6"
tap_ok "large ping (3000 octets): fragmented ICMP echo both ways" \
	nsx "$C" ping -6 -c 2 -W 2 -s 3000 "$SERVER6"
curl_blob() {
	nsx "$C" curl -s -g --max-time 20 -o "$tmp/got" "http://[$SERVER6]:8080/blob" &&
		cmp -s "$tmp/got" "$tmp/www/blob"
}
tap_ok "TCP: curl fetches 300 KB from the IPv4-only server intact" curl_blob

# tracepath: the translator's own Time Exceeded (hop limit 1 at the TUN),
# the IPv4 router's translated one, then the server's Port Unreachable.
nsx "$C" tracepath -6 -n -m 8 "$SERVER6" >"$tmp/trace" 2>&1
tap_ok "tracepath: Time Exceeded from the translator itself ($OWN6)" grep -q " $OWN6 " "$tmp/trace"
tap_ok "tracepath: Time Exceeded of the IPv4 router, translated ($ROUTER6)" \
	grep -q " $ROUTER6 " "$tmp/trace"
tap_ok "tracepath: reaches the server (Port Unreachable translated)" grep -q "reached" "$tmp/trace"
sed 's/^/# /' "$tmp/trace"

# PMTU client -> server: a DF IPv4 packet meets the 1000-octet link, the
# router's Fragmentation Needed comes back as Packet Too Big (never below
# 1280), and the client's route learns it.
nsx "$C" ping -6 -c 3 -W 1 -M do -s 1400 "$SERVER6" >/dev/null 2>&1
pmtu6() { nsx "$C" ip -6 route get "$SERVER6" | grep -q "mtu 1280"; }
tap_ok "PMTU 6->4: Fragmentation Needed 1000 becomes Packet Too Big 1280 at the client" \
	lab_wait 3 pmtu6
tap_ok "after PMTU, 1232-octet pings still get through (DF=0 below 1260, fragmented in IPv4)" \
	nsx "$C" ping -6 -c 2 -W 2 -s 1232 "$SERVER6"

# PMTU server -> client: the IPv6 link shrinks to 1280; the translator's
# kernel sends Packet Too Big to the IPv4-embedded source, which comes back
# through the TUN as Fragmentation Needed 1260.
ip -n "$X" link set "$id-x0" mtu 1280; ip -n "$C" link set "$id-c0" mtu 1280
ip -n "$R" link set "$id-r1" mtu 1500; ip -n "$S" link set "$id-s0" mtu 1500
cat >"$tmp/df_send.py" <<'EOF'
# Sends 1400-octet DF datagrams and waits (3 s at most) until the socket's
# path MTU drops: Linux applies Fragmentation Needed only while the socket
# that sent the packet is open.
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)     # IP_MTU_DISCOVER = IP_PMTUDISC_DO
s.connect((sys.argv[1], 40000))
end = time.time() + 3
while time.time() < end:
    try:
        s.send(b"D" * 1400)
    except OSError:
        pass
    mtu = s.getsockopt(socket.IPPROTO_IP, 14)   # IP_MTU
    if mtu == int(sys.argv[2]):
        sys.exit(0)
    time.sleep(0.05)
print("path MTU", mtu)
sys.exit(1)
EOF
tap_ok "PMTU 4->6: Packet Too Big 1280 becomes Fragmentation Needed 1260 at the server" \
	nsx "$S" /usr/bin/python3 "$tmp/df_send.py" "$POOL4" 1260

if [ -s "$tmp/harness.err" ]; then
	echo "# harness verdicts other than continue/held (last 10):"
	tail -10 "$tmp/harness.err" | sed 's/^/#   /'
fi
tap_done
