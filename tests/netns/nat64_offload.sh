#!/bin/bash
# TUN offloads (issue 14) end to end, with [nat64] offload = auto and off:
#   - 100 MB each way over TCP, checked by SHA-256, over three paths: every
#     MTU 1500; the IPv6 side limited to 1280 by the TUN (Packet Too Big
#     from the kernel toward the client, Fragmentation Needed from the
#     translator toward the server: PMTU both ways, and super-packets whose
#     segments do not fit, cut in software); the IPv4 link at 1100 (smaller
#     segments);
#   - UDP segmentation offload (USO) both ways, every datagram checked;
#   - super-packets larger than the MTU crossing the TUN (tcpdump on it and
#     the gso counters);
#   - valid checksums on the far side: the appliance's links do checksums
#     and segmentation in software (ethtool tx off), the hosts verify what
#     they receive (rx off), and their stacks count no checksum error.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_require tcpdump ethtool sha256sum
tap_plan 33
lab_setup
lab_in server ip route add 192.88.99.64/30 via "$LAB_APPL4"
X=(/usr/bin/python3 "$top_srcdir/tests/netns/offload_peer.py")
SERVER6=2001:db8:64::$LAB_SERVER4
MB100=104857600
head -c $MB100 /dev/urandom >"$LAB_DIR/blob"
WANT="$(sha256sum <"$LAB_DIR/blob" | cut -d' ' -f1) $MB100"
# Whatever the translator writes is checksummed and segmented by the kernel
# in software on its way out of the appliance, from the fields we set; the
# hosts check every checksum themselves.
for dev in "$LAB_IF_APPL6" "${LAB_ID}as"; do
	lab_in appl ethtool -K "$dev" tx off >/dev/null 2>&1
done
lab_in client ethtool -K "$LAB_IF_CLIENT" rx off >/dev/null 2>&1
lab_in server ethtool -K "$LAB_IF_SERVER" rx off >/dev/null 2>&1

ini() { # ini FILE OFFLOAD TUN_MTU
	lab_ini_nat64 "$1" 2 "[prefix lab]" "prefix = 2001:db8:64::/96" "translate = yes" \
		"[nat64]" "pool4 = 192.88.99.64/30" "mtu = $3" "offload = $2"
}

# set_ipv4_mtu MTU: the server's link (both ends) and the bridge.
set_ipv4_mtu() {
	lab_in server ip link set "$LAB_IF_SERVER" mtu "$1"
	lab_in appl ip link set "${LAB_ID}as" mtu "$1"
	lab_in appl ip link set "$LAB_IF_APPL4" mtu "$1"
	forget_pmtu
}

# Path MTUs learnt by an earlier transfer are forgotten: each connection
# starts with MSS from the links alone.
forget_pmtu() {
	lab_in client ip -6 route flush cache
	lab_in server ip route flush cache
	lab_in appl ip route flush cache
	lab_in appl ip -6 route flush cache
}

stat() { # stat NAME: one counter of `nat64 stats --json`
	lab_ctl --json nat64 stats | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["packets"][sys.argv[1]])' "$1"
}

# Checksum errors the hosts' stacks counted (TCP both families, UDP, IPv4
# headers).
csum_errors() {
	lab_in "$1" cat /proc/net/snmp /proc/net/snmp6 2>/dev/null | awk '
	/^(Tcp|Udp|Ip):/ { if (!hdr[$1]) { for (i = 2; i <= NF; i++) name[$1, i] = $i; hdr[$1] = 1; next }
			  for (i = 2; i <= NF; i++) if (name[$1, i] ~ /InCsumErrors|InHdrErrors/) n += $i }
	/^Udp6InCsumErrors/ { n += $2 }
	END { print n + 0 }'
}

# transfer NAME DESC: 100 MB from the client to the server, then back.
transfer() {
	local port=$((9000 + RANDOM % 900))
	lab_bg server "up-$1" "${X[@]}" recv-tcp $port
	lab_wait 10 lab_in server sh -c "ss -ltn | grep -q ':$port '"
	lab_in client "${X[@]}" send-tcp "$SERVER6" $port "$LAB_DIR/blob"
	lab_wait 60 grep -q sha256 "$LAB_DIR/up-$1.log"
	tap_is "$2: 100 MB IPv6 -> IPv4, SHA-256 intact" \
		"$(awk '/sha256/ {print $2, $3}' "$LAB_DIR/up-$1.log")" "$WANT"
	port=$((port + 1))
	forget_pmtu
	lab_bg server "srv-$1" "${X[@]}" serve-file $port "$LAB_DIR/blob"
	lab_wait 10 lab_in server sh -c "ss -ltn | grep -q ':$port '"
	tap_is "$2: 100 MB IPv4 -> IPv6, SHA-256 intact" \
		"$(lab_in client "${X[@]}" fetch-tcp "$SERVER6" $port | awk '{print $2, $3}')" "$WANT"
}

# udp NAME DESC: 800 datagrams of 1000 octets as UDP GSO, each way, and
# 800 small ones one by one toward IPv4 (with offloads, consecutive ones
# of the flow leave the translator as one frame).
udp() {
	local port=$((9900 + RANDOM % 90))
	lab_bg server "udp-$1" "${X[@]}" udp-recv $port 800 1000
	lab_wait 10 lab_in server sh -c "ss -lun | grep -q ':$port '"
	lab_in client "${X[@]}" udp-gso-send "$SERVER6" $port 800 1000
	lab_wait 10 grep -q '^udp' "$LAB_DIR/udp-$1.log"
	tap_is "$2: UDP GSO IPv6 -> IPv4, every datagram intact" \
		"$(awk '/^udp/ {print $2, $3}' "$LAB_DIR/udp-$1.log")" "800 0"
	port=$((port + 1))
	lab_bg server "udpr-$1" "${X[@]}" udp-gso-reflect $port 800 1000
	lab_wait 10 lab_in server sh -c "ss -lun | grep -q ':$port '"
	tap_is "$2: UDP GSO IPv4 -> IPv6, every datagram intact" \
		"$(lab_in client "${X[@]}" udp-gso-pull "$SERVER6" $port 800 1000 | awk '{print $2, $3}')" \
		"800 0"
	port=$((port + 1))
	lab_bg server "udps-$1" "${X[@]}" udp-recv $port 800 64
	lab_wait 10 lab_in server sh -c "ss -lun | grep -q ':$port '"
	lab_in client "${X[@]}" udp-send "$SERVER6" $port 800 64
	lab_wait 10 grep -q '^udp' "$LAB_DIR/udps-$1.log"
	tap_is "$2: 800 small datagrams IPv6 -> IPv4 one by one, every one intact" \
		"$(awk '/^udp/ {print $2, $3}' "$LAB_DIR/udps-$1.log")" "800 0"
}

for mode in auto off; do
	set_ipv4_mtu 1500
	ini "$LAB_DIR/$mode.ini" $mode 1500
	lab_sixfourd_start "$LAB_DIR/$mode.ini" || lab_bail "sixfourd ($mode)"
	before=$(( $(csum_errors client) + $(csum_errors server) ))
	if [ $mode = auto ]; then
		tap_like "auto: nat64 stats shows what the kernel took" \
			"$(lab_ctl --json nat64 stats)" '"offload":\{"requested":true,"vnet_header":12,"features":"csum tso4 tso6'
		lab_bg appl tcpdump6 tcpdump -l -n -s 96 -i sixfour0 -c 5 'ip6 and greater 3000'
		dump6=$LAB_LAST_PID
		lab_bg appl tcpdump4 tcpdump -l -n -s 96 -i sixfour0 -c 5 'ip and greater 3000'
		dump4=$LAB_LAST_PID
		lab_wait 10 grep -q "listening on" "$LAB_DIR/tcpdump6.log"
		lab_wait 10 grep -q "listening on" "$LAB_DIR/tcpdump4.log"
	else
		tap_like "off: nat64 stats says so" "$(lab_ctl --json nat64 stats)" \
			'"offload":\{"requested":false,"vnet_header":0,"features":"none"'
	fi
	transfer "$mode-1500" "$mode, MTU 1500 everywhere"
	if [ $mode = auto ]; then
		tap_ok "super-packets crossed the TUN both ways" \
			test "$(stat gso_rx)" -gt 0 -a "$(stat gso_tx)" -gt 0
		tap_ok "more than 1000 super-packets written" \
			test "$(stat gso_tx)" -gt 1000
		lab_wait 10 sh -c "! kill -0 $dump6 2>/dev/null"
		lab_wait 10 sh -c "! kill -0 $dump4 2>/dev/null"
		tap_is "tcpdump: IPv6 packets over 3000 octets on the TUN" \
			"$(grep -c ' IP6 .* length [0-9]' "$LAB_DIR/tcpdump6.log")" 5
		tap_is "tcpdump: IPv4 packets over 3000 octets on the TUN" \
			"$(grep -c ' IP .* length [0-9]' "$LAB_DIR/tcpdump4.log")" 5
		gso_udp=$(stat gso_rx)
	else
		tap_is "off: no super-packet ever" "$(stat gso_rx)" 0
	fi
	udp "$mode" "$mode"
	[ $mode = auto ] && tap_ok "auto: the UDP datagrams came as super-packets" \
		test "$(stat gso_rx)" -gt "$gso_udp"
	[ $mode = auto ] && tap_ok "auto: small datagrams of one flow were written coalesced" \
		test "$(stat tx_coalesced)" -gt 0
	set_ipv4_mtu 1100
	transfer "$mode-v4" "$mode, IPv4 link MTU 1100"
	lab_sixfourd_stop
	# The rings let go of the queues: nothing keeps the device after us.
	[ $mode = auto ] && tap_ok "auto: the TUN device is gone when sixfourd has exited" \
		sh -c "! ip -n $LAB_NS_APPL link show sixfour0 >/dev/null 2>&1"
	set_ipv4_mtu 1500
	ini "$LAB_DIR/$mode-1280.ini" $mode 1280
	lab_sixfourd_start "$LAB_DIR/$mode-1280.ini" || lab_bail "sixfourd ($mode, 1280)"
	transfer "$mode-v6" "$mode, IPv6 MTU 1280 (the TUN)"
	tap_ok "$mode, IPv6 MTU 1280: the translator sent Fragmentation Needed" \
		test "$(stat icmp_sent)" -gt 0
	[ $mode = auto ] && tap_ok "auto, IPv6 MTU 1280: super-packets that did not fit were cut" \
		test "$(stat offload_cut)" -gt 0
	tap_is "$mode: no checksum error counted by the hosts" \
		$(( $(csum_errors client) + $(csum_errors server) - before )) 0
	lab_sixfourd_stop
done
tap_done
