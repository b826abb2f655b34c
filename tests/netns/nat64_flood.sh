#!/bin/bash
# Issue 9: the translator on the open internet, table side. A spoofed flood
# of 20,000 one-packet UDP flows from 10,000 /56s (2 each) against a table
# of 4096 entries: two established, recently active TCP connections of a
# real client stay alive (data flows during and after the flood), a new
# connection made during the flood and one made after it succeed, and the
# flood only ever recycles its own kind (cheap entries).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_begin 16 nft
FLOOD=$top_srcdir/tests/netns/nat64_spoof.py
FLOWS=20000
lab_ini_nat64 "$LAB_DIR/flood.ini" 2 '[nat64]' 'max-sessions = 4096'
lab_server_echo tcp 7000
# The flood goes to a port the server drops silently: no reply, no ICMP,
# so every flood entry stays one-way (and its sources never hear of it).
lab_in server nft -f - <<'NFT'
table inet flooddrop { chain in { type filter hook input priority 0; udp dport 9 drop; } }
NFT
lab_sixfourd_start "$LAB_DIR/flood.ini" || lab_bail "sixfourd"

lab_bg client survive /usr/bin/python3 "$FLOOD" survive "$LAB_SERVER6" 7000 $FLOWS 2 2001:db8:1000:: \
	20000 9 "$LAB_DIR/release"
pid=$LAB_LAST_PID
lab_wait 60 grep -q '^holding' "$LAB_DIR/survive.log"
cp "$LAB_DIR/survive.log" "$LAB_DIR/survive.out"
sed 's/^/# /' "$LAB_DIR/survive.out"
passed() { grep -qx "pass $1" "$LAB_DIR/survive.out"; }
for c in "two connections open" "both carry data before the flood" \
	"a new connection during the flood" "connection 1 carries data during the flood" \
	"the third connection was made while the flood ran" \
	"connection 1 carries data after the flood" "connection 2 carries data after the flood" \
	"connection 3 carries data after the flood" "a new connection after the flood"; do
	tap_ok "$c" passed "$c"
done
tap_is "the flood sent $FLOWS spoofed one-packet flows" \
	"$(sed -n 's/^sent //p' "$LAB_DIR/survive.out")" $FLOWS
# The flood goes through the translator after the script returns: wait
# until the workers have read all of it (on a loaded machine some of it is
# lost before the TUN: then until the count stands still).
created() { lab_ctl --json nat64 stats | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["session_events"]["created"])'; }
last=-1
for _ in $(seq 50); do
	c=$(created)
	[ "$c" -ge $FLOWS ] || [ "$c" = "$last" ] && break
	last=$c
	sleep 0.2
done
tap_ok "the table stays within its 4096 entries" test "$(lab_nat64_stat "d['sessions']['count']")" -le 4096
tap_is "every entry created beyond the table's size recycled a cheap one" \
	"$(lab_nat64_stat "d['session_events']['evicted_cheap']")" \
	"$(lab_nat64_stat "d['session_events']['created'] - d['sessions']['count']")"
tap_is "nothing live, established or within its share was evicted" \
	"$(lab_nat64_stat "d['session_events']['evicted_live'] + d['session_events']['evicted_est'] + d['session_events']['displaced']")" 0
tap_is "no new session was refused for a full table" "$(lab_nat64_stat "d['drops']['TABLE_FULL']")" 0
est=$(lab_ctl nat64 sessions | grep -c "\[2001:db8:1::100\]:.* established local established")
tap_ok "the client's open connections are in the protected class ($est of 3)" test "$est" -ge 3
tap_like "the operator sees the classes in the stats" "$(lab_ctl nat64 stats)" \
	'established +[1-9]'
touch "$LAB_DIR/release"
wait "$pid"
tap_done
