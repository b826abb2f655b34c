#!/bin/bash
# The NAT64 handoff protocol end to end: sixfourd (translator side) in the
# lab's appl namespace and sixfour-handoffd as a real daemon on the
# IPv4-only server, with real TCP through the translator (spec/handoff.md
# 7, 10, 16.1). Default pool4: the appliance's own 192.88.99.1, shared,
# so the handoff datagrams leave from a local address through the TUN.
#
#   client 2001:db8:1::100 --- appl (sixfourd) ==bridge== server .80 (sixfour-handoffd)
#                                                  \=== spoof .99 (forges server datagrams)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/handoff_lib.sh"
lab_require tcpdump nft curl
tap_plan 61
lab_setup
handoff_lab_vars
HSTATE=$LAB_DIR/handoffd
HLOG=$LAB_DIR/handoffd.log
mkdir -p "$HSTATE"

lab_ini_nat64 "$LAB_DIR/nat64.ini" 2 '[nat64]' 'max-sessions = 64' \
	'[handoff]' 'keepalive-interval = 1500ms' 'contact = noc@nat64.example'

# --- helpers (and those of handoff_lib.sh) ---
curl_once() { lab_in client curl -sS -m5 "http://[$S6]:8080/" >/dev/null; }
# Predicates for lab_wait / tap_ok (they run in this shell).
total_grew() { [ $(( $(htotal "$1") - $2 )) -eq "$3" ]; }
blocked_now() {
	[ "$(hjson "next((s['blocked'] for s in j['sessions'] if s['server']=='$S4'), None)")" = True ]
}
stats_has() { lab_ctl nat64 stats | grep -qiE "$1"; }
conn_ok() { [ "$(conn "$@")" = ok ]; }

# --- the servers and a capture of every handoff datagram on the server ---
lab_server_http 8080
lab_tcpdump server tcpdump "$LAB_DIR/handoff.pcap" -i any -s 0 udp port $PORT
lab_sixfourd_start "$LAB_DIR/nat64.ini" || { echo "Bail out! sixfourd"; exit 1; }

# 1. No daemon on the server: the notices go out anyway, with the TEXT.
tap_ok "a connection through the NAT64 (no handoff daemon yet)" curl_once
tap_ok "the server receives the notice with the TEXT, daemon or not" lab_wait 10 sh -c \
	"$PY $TOOL text $LAB_DIR/handoff.pcap $T4 $S4 $PORT | grep -q 'NAT64 handoff.*Contact: noc@nat64.example'"
tap_is "the translator keeps probing a host without the daemon" "$(hstate)" probing
tap_ok "... and counts its notices" test "$(htotal NOTICES)" -ge 1
tap_is "no handshake without the daemon" "$(htotal HANDSHAKES)" 0

# 2. The daemon starts: the next notice is answered, the session comes up.
tap_ok "sixfour-handoffd runs on the IPv4 server" handoffd_start
curl_once
tap_ok "the next notice's HELLO is answered: session established" lab_wait 10 is_state established
tap_ok "the server logs Initialized for the NAT64's pool address" \
	lab_wait 5 grep -Eq "^[0-9-]{10} [0-9:.]{15} Initialized $T4\$" "$HLOG"

# 3. A long-lived TCP connection; its entry is created, logged, acked.
coproc CONNP { exec $PY "$CONN" "$LAB_NS_CLIENT" "$LAB_NS_SERVER" "$S4" "$S6" 7100; }
read -r _ CPORT PEER4 PPORT <<<"$(conn open)"
tap_is "the long-lived connection opens through the pool address" "$PEER4" "$T4"
created="Created $T4:$PPORT \\[$LAB_CLIENT6\\]:$CPORT"
tap_ok "the server log names the client's real IPv6 address and port" \
	lab_wait 10 grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} $created\$" "$HLOG"
tap_ok "every log line has the section 8 format" sh -c "! grep -Ev \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} (Initialized [0-9.]+|(Created|Deleted) [0-9.]+:[0-9]+ \[[0-9a-f:.]+\]:[0-9]+)\$' '$HLOG'"
tap_ok "the acked entry becomes a cache entry (acked)" \
	lab_wait 10 field_is "$CPORT" state acked
tap_is "an acked entry has no idle timer" "$(sess_field "$CPORT" expires_s)" -1
metrics_ok() { # the handoff families in the metrics, each with HELP; their
	# numbers are those of `sixfourctl handoff` (the notices so far)
	local m; m=$(lab_ctl metrics)
	for f in events glue_events port_events queue_events; do
		grep -q "^# HELP sixfour_nat64_handoff_${f}_total " <<<"$m" || return 1
	done
	grep -qx 'sixfour_nat64_handoff_queue_events_total{kind="LOST"} 0' <<<"$m" &&
	grep -q '^sixfour_nat64_handoff_sessions{state="established"} 1$' <<<"$m" &&
	[ "$(awk '$1 == "sixfour_nat64_handoff_events_total{kind=\"NOTICES\"}" {print $2}' <<<"$m")" \
		= "$(htotal NOTICES)" ]
}
tap_ok "metrics: handoff events, glue, held ports, sessions and lost queue events" lab_wait 5 metrics_ok
hello_ok() { $PY "$TOOL" hello "$LAB_DIR/handoff.pcap" "$T4" "$S4" $PORT | grep -q '^ok'; }
tap_ok "the reply to an unauthenticated HELLO is never larger than the request" \
	lab_wait 10 hello_ok
tap_like "... (HELLO-ACK sizes against their HELLO datagrams)" \
	"$($PY "$TOOL" hello "$LAB_DIR/handoff.pcap" "$T4" "$S4" $PORT)" '^ok [1-9]'

# 4. Idle, flush: the server's next packet is looked up once, the
#    connection goes on.
sleep 1	# idle (the connection, not the test: nothing is awaited here)
l0=$(htotal LOOKUPS) h0=$(htotal HITS)
tap_ok "flush sessions" lab_ctl flush sessions
tap_is "the entry is gone from the translator" "$(sess_field "$CPORT" state)" none
tap_is "server -> client after the flush" "$(conn s2c after-flush)" ok
tap_is "exactly one LOOKUP for it" "$(( $(htotal LOOKUPS) - l0 ))" 1
tap_is "... which found the entry" "$(( $(htotal HITS) - h0 ))" 1
tap_is "client -> server goes on too" "$(conn c2s still-there)" ok
tap_is "the re-installed entry is acked cache again" "$(sess_field "$CPORT" state)" acked

# 5. Forged server datagrams from a third namespace change nothing.
spoof_ns_up
s0=$(htotal SPOOFED) l0=$(htotal LOOKUPS) b0=$(htotal BLOCKS) i0=$(htotal HITS)
sent=$(ip netns exec "$SP" $PY "$TOOL" spoof "$S4" "$T4" $PORT)
tap_ok "forged HELLO-ACK, LOOKUP-REPLY, ENTRY-ACK, BLOCK and wrong-port datagrams are counted" \
	lab_wait 10 total_grew SPOOFED "$s0" "$sent"
tap_is "... the session stays as it was" "$(hstate)" established
tap_is "... no BLOCK was applied" "$(( $(htotal BLOCKS) - b0 ))" 0
tap_is "... no entry was installed" "$(( $(htotal HITS) - i0 ))" 0
tap_is "... and the connection still works" "$(conn s2c not-hijacked)" ok
# And the other way: forged ENTRY-CREATED in the NAT64's name, to the server.
hctr() { lab_in server "$HANDOFFD" -d "$HSTATE" status | awk -v k="$1" '$1 == k {print $2}'; }
c0=$(( $(hctr DROP_BAD_COOKIE) + $(hctr DROP_NO_SESSION) ))
lines0=$(grep -c . "$HLOG")
sent=$(ip netns exec "$SP" $PY "$TOOL" spoof-server "$T4" "$S4" $PORT)
server_counted() { [ $(( $(hctr DROP_BAD_COOKIE) + $(hctr DROP_NO_SESSION) - c0 )) -eq "$sent" ]; }
tap_ok "forged ENTRY-CREATED to the server are dropped and counted by it" lab_wait 10 server_counted
tap_is "... and leave no log line" "$(grep -c . "$HLOG")" "$lines0"

# 6. BLOCK from the server in a valid session stops traffic for its time.
tap_ok "sixfour-handoffd block asks the NAT64 to block this host" \
	lab_in server "$HANDOFFD" -d "$HSTATE" block "$T4" 2
tap_ok "the translator applies the BLOCK" lab_wait 5 blocked_now
curl_fails() { ! lab_in client curl -sS -m1 "http://[$S6]:8080/" >/dev/null 2>&1; }
tap_ok "traffic to the server is stopped while blocked" curl_fails
tap_ok "... and counted as BLOCKED drops" stats_has 'blocked[^0-9]*[1-9]' 
tap_ok "traffic flows again when the BLOCK runs out" lab_wait 10 curl_once
tap_is "one BLOCK applied" "$(htotal BLOCKS)" 1

# 7. sixfour-handoffd restarts: its journal keeps the table.
tap_ok "the connection works before the daemon restarts" conn_ok c2s pre-restart
handoffd_stop
tap_ok "sixfour-handoffd restarts" handoffd_start
lab_wait 10 is_state established
tap_ok "flush sessions" lab_ctl flush sessions
tap_is "server -> client after the daemon's restart and a flush (from its journal)" \
	"$(conn s2c after-handoffd-restart)" ok
tap_is "client -> server too" "$(conn c2s ok2)" ok

# 8. sixfourd restarts (same pool address): the entry comes back by LOOKUP.
l0=$(grep -c . "$HLOG")
lab_sixfourd_stop
tap_ok "sixfourd restarts" lab_sixfourd_start "$LAB_DIR/nat64.ini"
tap_is "both directions after the translator's restart" "$(conn both srv-after-restart cli-after-restart 30)" ok
tap_ok "... through a LOOKUP that found the entry" test "$(htotal HITS)" -ge 1
tap_unlike "the restart resumed the saved session: no new Initialized, no new Created" \
	"$(tail -n +$((l0 + 1)) "$HLOG")" "Initialized|Created"
tap_ok "... no second Created for the connection" sh -c "[ \$(grep -c '$created' '$HLOG') -eq 1 ]"

# 9. A full table evicts acked cache entries first; the connection lives on.
lab_in client ping -6 -c1 -W2 "64:ff9b::$LAB_DNS4" >/dev/null	# a LOCAL entry: no daemon there
flows() { # flows FIRST COUNT: UDP flows from COUNT client ports to the server
	lab_in client $PY -c '
import socket, sys
first, count, dst = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for p in range(first, first + count):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", p))
    s.sendto(b"x", (dst, 9))
    s.close()' "$1" "$2" "$S6"
}
acked_at_least() {
	[ "$(lab_ctl nat64 sessions --json | $PY -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin) if s.get("state")=="acked"))')" -ge "$1" ]
}
flows 20000 40
tap_ok "40 UDP flows to the handoff server are acked" lab_wait 10 acked_at_least 40
flows 21000 40
tap_ok "40 more flows fit in the 64-entry table by evicting acked entries" \
	lab_wait 10 stats_has 'evicted_acked[^0-9]*[1-9]' 
has_dns_session() { lab_ctl nat64 sessions | grep -q " $LAB_DNS4:"; }
tap_ok "the LOCAL entry toward the host without the daemon was not evicted" has_dns_session
tap_is "the long-lived connection goes on (server -> client)" "$(conn s2c after-eviction)" ok
tap_is "... and client -> server" "$(conn c2s after-eviction)" ok

# 10. The daemon goes away: back to plain NAT64 with fresh timers. The
#     server answers each keep-alive with ICMP port unreachable: evidence
#     about the session, never a lookup (profile P-5).
handoffd_stop
k0=$(htotal KEEPALIVE_MISSES) i0=$(htotal ICMP_ERRORS) l0=$(htotal LOOKUPS) t0=$(htotal TIMEOUTS)
tap_ok "the session falls back within 3 keep-alives" lab_wait 15 is_state probing
tap_ok "... counted as a session loss" test "$(htotal SESSION_DOWNS)" -ge 1
tap_ok "... after 3 missed keep-alives, not fewer" test $(( $(htotal KEEPALIVE_MISSES) - k0 )) -eq 3
tap_ok "... whose ICMP port unreachable errors were counted" test $(( $(htotal ICMP_ERRORS) - i0 )) -ge 2
tap_is "... and never looked up (no LOOKUP, no lookup timeout)" \
	"$(( $(htotal LOOKUPS) - l0 + $(htotal TIMEOUTS) - t0 ))" 0
tap_is "the connection's entry is a LOCAL one again" "$(sess_field "$CPORT" state)" local
tap_ok "... with an RFC 6146 timer (transitory or established)" \
	test "$(sess_field "$CPORT" expires_s)" -gt 0
tap_is "the connection keeps working on plain NAT64" "$(conn s2c plain-nat64)" ok
l0=$(htotal LOOKUPS)
lab_ctl flush sessions >/dev/null
tap_like "without a session a flushed entry is not looked up" "$(conn s2c lost 3)" '^fail'
tap_is "... and no LOOKUP was sent" "$(htotal LOOKUPS)" "$l0"

conn quit >/dev/null
lab_sixfourd_stop
tap_done
