#!/bin/bash
# Issue 11 item 3: the default pool4 (the host's own addresses) follows
# every change of them. The appliance's second address moves 100 times;
# each time the translator's pool and its nftables steering follow (before,
# retired pools were kept in a fixed array of 16 and the daemon stopped
# following after 16 changes). Traffic flows before, during and after, and
# a flow that is open across the changes keeps its mapping.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_begin 9 nft
UDP=$top_srcdir/tests/netns/nat64_udp.py
CHANGES=100
lab_ini_nat64 "$LAB_DIR/follow.ini" 2
lab_server_echo udp 7000
lab_sixfourd_start "$LAB_DIR/follow.ini" || lab_bail "sixfourd"
pool_has() { # pool_has ADDR: in the translator's pool4 and in its steering rules
	lab_ctl --json nat64 stats | /usr/bin/python3 -c "
import json, sys
sys.exit(0 if any(p['address'] == '$1' for p in json.load(sys.stdin)['pool4']) else 1)" &&
	lab_in appl nft list table inet sixfour 2>/dev/null | grep -q "ip daddr $1 "
}
pool_lacks() { ! lab_ctl --json nat64 stats | grep -q "\"$1\""; }
flow() { lab_in client /usr/bin/python3 "$UDP" send "$LAB_SERVER6" 7000 10 | cut -d' ' -f1-3; }

# The moving address joins first: the pool has two addresses from now on.
prev=192.88.99.100
lab_in appl ip addr add "$prev/24" dev "$LAB_IF_APPL4"
lab_wait 5 pool_has "$prev" || lab_bail "the pool did not take the second address"
tap_is "traffic flows before the changes" "$(flow)" "reply 10 1"
# A long-lived flow from a client address paired with the address that
# stays (a client's mappings go to one address, RFC 6146 3.5.1.1): its
# mapping must survive the pool's new versions.
long=
for k in 1 2 3 4 5 6 7 8; do
	c6=2001:db8:1::1$k
	lab_in client ip addr add "$c6/64" dev "$LAB_IF_CLIENT" nodad
	lab_in client /usr/bin/python3 "$UDP" send "$LAB_SERVER6" 7000 10 "$c6" 40777 >/dev/null
	out=$(lab_ctl nat64 sessions)
	if grep -q "\[$c6\]:40777 .* as $LAB_APPL4:" <<<"$out"; then
		long=$c6
		break
	fi
done
[ -n "$long" ] || lab_bail "no client address paired with $LAB_APPL4"
lab_bg client longflow /usr/bin/python3 "$UDP" send "$LAB_SERVER6" 7000 10 "$long" 40778 300
LONG=$LAB_LAST_PID
lab_wait 10 grep -q '^reply' "$LAB_DIR/longflow.log"
MPORT=$(lab_ctl nat64 sessions | sed -n "s/.*\[$long\]:40778 .* as $LAB_APPL4:\([0-9]*\) .*/\1/p" | head -1)

followed=0 dropped=0 midflow=
for i in $(seq 1 $CHANGES); do
	addr=192.88.99.$((101 + i % 99))
	lab_in appl ip addr add "$addr/24" dev "$LAB_IF_APPL4"
	lab_in appl ip addr del "$prev/24" dev "$LAB_IF_APPL4"
	lab_wait 5 pool_has "$addr" && followed=$((followed + 1))
	lab_wait 5 pool_lacks "$prev" && dropped=$((dropped + 1))
	[ "$i" = 50 ] && midflow=$(flow)
	prev=$addr
done
tap_is "the pool followed every one of $CHANGES address changes" "$followed" $CHANGES
tap_is "... and let go of every address that went" "$dropped" $CHANGES
tap_is "traffic flowed half way through" "$midflow" "reply 10 1"
tap_is "traffic flows after the changes" "$(flow)" "reply 10 1"
tap_ok "the first address stayed in the pool" pool_has "$LAB_APPL4"
# The long-lived flow: a datagram from the server to its mapping still
# reaches the client (the new pools carried the mapping over).
lab_in server /usr/bin/python3 "$UDP" once 7100 "$LAB_APPL4" "${MPORT:-1}" stillthere
lab_wait 10 grep -q "^extra" "$LAB_DIR/longflow.log"
tap_like "a mapping from before the changes still reaches its client" \
	"$(cat "$LAB_DIR/longflow.log")" "extra 10 "
wait "$LONG"
tap_unlike "no complaint about address changes in the log" "$(cat "$LAB_DIR/sixfourd.log")" \
	"too many address changes|pool4.*(failed|error)"
lab_in appl ip addr del "$prev/24" dev "$LAB_IF_APPL4"
tap_ok "the last moved address left the pool too" lab_wait 5 pool_lacks "$prev"
tap_done
