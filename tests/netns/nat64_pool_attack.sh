#!/bin/bash
# Issue 9: a pool that cannot be locked. The default pool4 (the appliance's
# own address, ports 61001-65535: 4535 per protocol) against spoofed
# one-packet UDP flows, each from a new source port (a new mapping):
#   A. two /56s, 3000 mappings each: each is held to its share of 1024
#      ports (RFC 6888 REQ-4) and reuses its own; the pool never fills.
#   B. eight /56s, 1200 each (9600 > 4535): the address fills and makes room
#      from the heaviest holders.
# Throughout, a real client opens TCP and UDP flows that succeed, and its
# connections keep carrying data.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_begin 27 nft
SPOOF=$top_srcdir/tests/netns/nat64_spoof.py
lab_ini_nat64 "$LAB_DIR/pool.ini" 2
lab_server_echo tcp 7000
lab_server_echo udp 7001
lab_in server nft -f - <<'NFT'
table inet flooddrop { chain in { type filter hook input priority 0; udp dport 9 drop; } }
NFT
lab_sixfourd_start "$LAB_DIR/pool.ini" || lab_bail "sixfourd"
udp_ports() { lab_nat64_stat "next(p['udp'] for p in d['pool4'] if p['address'] == '$LAB_APPL4')"; }

checks=("two connections open" "both carry data before the flood"
	"a new connection during the flood" "a UDP flow during the flood"
	"connection 1 carries data during the flood" "connection 1 carries data after the flood"
	"connection 2 carries data after the flood" "a new connection after the flood"
	"a UDP flow after the flood")
# attack NAME FLOWS PER56: the flood runs while the client works.
attack() {
	rm -f "$LAB_DIR/release"
	lab_bg client "$1" /usr/bin/python3 "$SPOOF" survive "$LAB_SERVER6" 7000 "$2" "$3" \
		2001:db8:2000:: 6000 9 "$LAB_DIR/release" 7001
	local pid=$LAB_LAST_PID
	lab_wait 60 grep -q '^holding' "$LAB_DIR/$1.log"
	sed 's/^/# /' "$LAB_DIR/$1.log"
	local c
	for c in "${checks[@]}"; do
		tap_ok "$1: $c" grep -qx "pass $c" "$LAB_DIR/$1.log"
	done
	tap_is "$1: $2 spoofed mappings sent" "$(sed -n 's/^sent //p' "$LAB_DIR/$1.log")" "$2"
	lab_wait 10 sh -c "[ \$(lab_ctl --json nat64 stats | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"session_events\"][\"created\"])') -ge $(($2 + ${created0:-0})) ]"
	UDP_PORTS=$(udp_ports)
	touch "$LAB_DIR/release"
	wait "$pid"
}

# A: two /56s.
created0=0
attack two56 6000 3000
tap_ok "two56: the two /56s hold no more than their shares (2 x 1024, $UDP_PORTS UDP ports used)" \
	test "$UDP_PORTS" -le $((2 * 1024 + 8))
tap_ok "two56: ... by reusing their own mappings" \
	test "$(lab_nat64_stat "d['session_events']['port_recycled']")" -ge $((2 * (3000 - 1024)))
tap_is "two56: the pool never filled" "$(lab_nat64_stat "d['session_events']['pool_reclaimed']")" 0
tap_is "two56: no client was refused a port" \
	"$(lab_nat64_stat "d['drops']['POOL_EXHAUSTED'] + d['drops']['PORT_LIMIT']")" 0

# B: eight /56s.
created0=$(lab_nat64_stat "d['session_events']['created']")
attack eight56 9600 1200
tap_ok "eight56: the address filled ($UDP_PORTS of 4535 UDP ports)" test "$UDP_PORTS" -ge 4500
tap_ok "eight56: and made room from the heaviest holders" \
	test "$(lab_nat64_stat "d['session_events']['pool_reclaimed']")" -gt 0
tap_is "eight56: no live or established session was evicted" \
	"$(lab_nat64_stat "d['session_events']['evicted_live'] + d['session_events']['evicted_est'] + d['session_events']['displaced']")" 0
tap_done
