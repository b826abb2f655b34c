#!/bin/bash
# Handoff both ways (issue 18): a real TCP connection through sixfourd to a
# host running sixfour-handoffd comes back whichever side speaks first,
# after `flush sessions`, after eviction from a full table, after a restart
# of sixfourd and after a restart of sixfour-handoffd. Each recovery is
# checked on the server's wire: one lookup round trip (LOOKUP-CLIENT when
# the client speaks first, LOOKUP when the server does), before the data,
# which is sent once (no retransmission was needed) and no handshake (a
# restarted sixfourd resumes its saved session, doc/handoff-profile.md P-6).
# Then: a reload that changes `contact` keeps every session and the next
# TEXT carries it; a spoofed flood in the server's name causes no more
# lookups than [handoff] lookup-rate allows (P-9).
#
#   client 2001:db8:1::100 --- appl (sixfourd) ==bridge== server .80 (sixfour-handoffd)
#                                                  \=== spoof .99 (forges server packets)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/handoff_lib.sh"
lab_require tcpdump nft
tap_plan 53
lab_setup
handoff_lab_vars
RATE=10
HSTATE=$LAB_DIR/handoffd
HLOG=$LAB_DIR/handoffd.log
PCAP=$LAB_DIR/server.pcap
mkdir -p "$HSTATE"

ini() { # ini CONTACT
	lab_ini_nat64 "$LAB_DIR/recovery.ini" 2 '[nat64]' 'max-sessions = 64' \
		'[handoff]' "contact = $1" "lookup-rate = $RATE"
	echo "$LAB_DIR/recovery.ini"
}

# --- helpers (and those of handoff_lib.sh) ---
now() { date +%s.%N; }

# One recovery: PURGE is a function that makes the translator lose the
# entry; WHO (client|server) speaks first with a unique marker. Checks the
# delivery, then the server's wire (4 checks).
N=0
recovery() { # recovery NAME PURGE WHO
	local name=$1 purge=$2 who=$3 mark t0 got tr
	N=$((N + 1))
	mark="$who-$N-$name"
	$purge
	t0=$(now)
	if [ "$who" = client ]; then got=$(conn tc2s "$mark" 10); else got=$(conn ts2c "$mark" 10); fi
	tap_like "$name, $who first: the data arrives" "$got" '^ok [0-9]+$'
	tap_diag "$name, $who first: delivered ${got#ok } us after the send"
	lab_wait 5 sh -c "$PY $TOOL trace $PCAP $T4 $S4 $PORT $mark $t0 | grep -q '^data [1-9]'"
	tr=$($PY "$TOOL" trace "$PCAP" "$T4" "$S4" "$PORT" "$mark" "$t0")
	tap_diag "$tr"
	local want_kind=4
	[ "$who" = client ] && want_kind=6
	tap_like "... one lookup round trip (LOOKUP$([ $who = client ] && echo -CLIENT)), no handshake" \
		"$tr" "lookups 1 .* replies 1 .* hellos 0 kinds $want_kind\$"
	tap_like "... the data was sent once: no retransmission was needed" "$tr" '^data 1 '
	# The lookup and its reply come before the data reaches the server
	# (client first) or after the server sent it (server first).
	tap_ok "... in the order of one round trip" $PY -c '
import sys
f = sys.argv[1].split()
d, l, r, who = float(f[2]), float(f[5]), float(f[8]), sys.argv[2]
sys.exit(0 if (l <= r <= d if who == "client" else d <= l <= r) else 1)' "$tr" "$who"
}

# --- the purges ---
purge_flush() { lab_ctl flush sessions >/dev/null; }
purge_evict() {
	# 80 one-packet UDP flows to the server into the 64-entry table: their
	# acked entries and the idle connection's compete, the oldest goes.
	local first=$((20000 + N * 100))
	lab_in client $PY -c '
import socket, sys
first, dst = int(sys.argv[1]), sys.argv[2]
for p in range(first, first + 80):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", p))
    s.sendto(b"x", (dst, 9))
    s.close()' "$first" "$S6"
	lab_wait 10 field_is "$CPORT" state none
}
purge_restart() {
	lab_sixfourd_stop
	lab_sixfourd_start "$(ini "$CONTACT")" || lab_bail "sixfourd did not restart"
}
purge_handoffd() {
	handoffd_stop
	handoffd_start
	lab_ctl flush sessions >/dev/null
}

# --- the lab ---
CONTACT=noc@nat64.example
lab_server_http 8080
lab_tcpdump server tcpdump "$PCAP" -i any -s 0 "udp port $PORT or tcp port 7100"
handoffd_start || lab_bail "sixfour-handoffd did not start"
lab_sixfourd_start "$(ini "$CONTACT")" || lab_bail "sixfourd did not start"
coproc CONNP { exec $PY "$CONN" "$LAB_NS_CLIENT" "$LAB_NS_SERVER" "$S4" "$S6" 7100; }
read -r _ CPORT PEER4 PPORT <<<"$(conn open)"
tap_is "a long-lived connection through the pool address" "$PEER4" "$T4"
tap_ok "the handoff session is established" lab_wait 10 is_state established
tap_ok "the connection's entry is acked" lab_wait 10 field_is "$CPORT" state acked

# --- a spoofed flood in the server's name (issue 9 item 4, profile P-9) ---
spoof_ns_up
settled() { [ "$(hjson "sum(s['outstanding_lookups'] for s in j['sessions'])")" = 0 ]; }
# flood NAME: 1000 spoofed ACKs from S to random pool ports and 1000 to the
# connection's port, after a flush; checks the lookups against the rate.
flood() {
	local name=$1 l0 o0 r0 t0 t1 sent sent2 lookups bound
	lab_ctl flush sessions >/dev/null
	l0=$(( $(htotal LOOKUPS) + $(htotal CLIENT_LOOKUPS) )) o0=$(hglue OUT_OF_SCOPE)
	r0=$(htotal LOOKUPS_LIMITED)
	t0=$(now)
	sent=$(ip netns exec "$SP" $PY "$TOOL" flood "$S4" "$T4" 7100 "random:61001-65535" 1000)
	sent2=$(ip netns exec "$SP" $PY "$TOOL" flood "$S4" "$T4" 7100 "$PPORT" 1000)
	t1=$(now)
	lab_wait 5 settled
	lookups=$(( $(htotal LOOKUPS) + $(htotal CLIENT_LOOKUPS) - l0 ))
	OOS=$(( $(hglue OUT_OF_SCOPE) - o0 )) LIMITED=$(( $(htotal LOOKUPS_LIMITED) - r0 ))
	bound=$(awk -v a="$t0" -v b="$t1" -v r=$RATE 'BEGIN {printf "%d", r + r * (b - a + 2)}')
	tap_diag "$name: $sent + $sent2 spoofed packets in $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}') s: $lookups lookups (bound $bound), $OOS out of scope, $LIMITED over the rate"
	tap_ok "$name: $((sent + sent2)) spoofed packets cause at most lookup-rate ($RATE/s, burst $RATE) lookups" \
		test "$lookups" -le "$bound"
}
flood "a flood in the server's name"
tap_ok "... the ports the server holds nothing on are never looked up" test "$OOS" -ge 900
tap_is "the connection works after the flood" "$(conn both srv-after-flood cli-after-flood 20)" ok
lab_wait 10 field_is "$CPORT" state acked

for purge in flush evict restart handoffd; do
	for who in client server; do
		recovery "$purge" "purge_$purge" "$who"
		# Wait until the entry is back and acked before the next purge.
		lab_wait 10 field_is "$CPORT" state acked
	done
done
tap_is "no handshake in the whole run: the restarts resumed the saved session" \
	"$(grep -c "Initialized $T4" "$HLOG")" 1
tap_ok "the translator's state file holds the session, 0600" \
	sh -c "[ \$(stat -c %a '$LAB_DIR/state/handoff-state') = 600 ] &&
	       grep -q '^session $T4 $S4 ' '$LAB_DIR/state/handoff-state'"
tap_is "every recovery found the entry (no miss, no timeout)" \
	"$(( $(htotal MISSES) + $(htotal TIMEOUTS) ))" 0

# --- a reload that changes the contact ---
h0=$(htotal HANDSHAKES) s0=$(hstate)
lab_tcpdump dns tcpdump-dns "$LAB_DIR/dns.pcap" -i any -s 0 udp port $PORT
CONTACT=abuse@nat64.example
lab_sixfourd_config "$(ini "$CONTACT")"
tap_ok "a reload that changes [handoff] contact is accepted" lab_ctl reload
tap_is "... the handoff session stays" "$(hstate)" "$s0"
tap_is "... without a new handshake" "$(htotal HANDSHAKES)" "$h0"
tap_is "... the connection's entry stays" "$(sess_field "$CPORT" state)" acked
tap_is "... and the connection carries data" "$(conn c2s after-reload)" ok
lab_in client ping -6 -c1 -W2 "64:ff9b::$LAB_DNS4" >/dev/null
text_has() { $PY "$TOOL" text "$LAB_DIR/dns.pcap" "$T4" "$LAB_DNS4" $PORT | grep -q "Contact: $1"; }
tap_ok "the next TEXT (to a host without the daemon) carries the new contact" lab_wait 10 text_has "$CONTACT"
tap_ok "... and not the old one" sh -c "! $PY $TOOL text $LAB_DIR/dns.pcap $T4 $LAB_DNS4 $PORT | grep -q noc@"
out=$(sed "s/^\[handoff\]/[handoff]\nport = 64647/" "$LAB_DIR/recovery.ini")
printf '%s\n' "$out" >"$LAB_DIR/port.ini"
lab_sixfourd_config "$LAB_DIR/port.ini"
tap_like "a reload that changes the port is refused (it needs a restart)" \
	"$(lab_ctl reload 2>&1)" 'restart'
lab_sixfourd_config "$(ini "$CONTACT")"

flood "after the restarts (a resumed session: its older ports are not known here)"
tap_ok "... so every pool port is in scope, and the rate alone bounds the lookups" test "$OOS" -eq 0
tap_ok "... the misses over the rate are dropped and counted" test "$LIMITED" -ge 900
tap_is "the connection works after the second flood" "$(conn both srv-after-flood2 cli-after-flood2 20)" ok

conn quit >/dev/null
lab_sixfourd_stop
tap_done
