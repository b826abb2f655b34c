#!/bin/bash
# Next-port hints and held ports (issue 18 items 3 and 7; doc/handoff-profile.md
# P-3, P-4, P-7): a new connection toward a handoff server takes a port the
# server hinted (checked on the wire); a restart of sixfourd under a stream
# of new connections from another client takes no port that a live
# connection holds at the server, and every live connection carries data
# after it.
#
#   clients 2001:db8:1::100 (live) and ::200 (stream) --- appl (sixfourd) --- server .80
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/handoff_lib.sh"
lab_require tcpdump nft
tap_plan 14
lab_setup
handoff_lab_vars
LIVE=40
HLOG=$LAB_DIR/handoffd.log
PCAP=$LAB_DIR/server.pcap
HSTATE=$LAB_DIR/hstate
mkdir -p "$HSTATE"
lab_ini_nat64 "$LAB_DIR/hints.ini" 2 '[nat64]' "pool4 = $LAB_APPL4:61001-61400"

established() {
	[ "$(hjson "next((s['state'] for s in j['sessions'] if s['server']=='$S4'), 'none')")" = established ]
}
hints_known() { [ -n "$($PY "$TOOL" hints "$PCAP" "$T4" "$S4" $PORT)" ]; }

lab_server_http 8080
lab_tcpdump server tcpdump "$PCAP" -i any -s 0 \
	"udp port $PORT or (tcp port 8080 and tcp[tcpflags] & tcp-syn != 0)"
handoffd_start || lab_bail "sixfour-handoffd did not start"
lab_sixfourd_start "$LAB_DIR/hints.ini" || lab_bail "sixfourd did not start"

# 1. A new connection toward the server takes the port it hinted.
lab_in client curl -sS -m5 -o /dev/null "http://[$S6]:8080/"
tap_ok "the handoff session is established" lab_wait 10 established
tap_ok "the server sent next-port hints (the batch asked for at the handshake)" \
	lab_wait 10 hints_known
lab_in client curl -sS -m5 -o /dev/null "http://[$S6]:8080/" || true
two_syns() { [ "$($PY "$TOOL" syns "$PCAP" "$T4" "$S4" 8080 | wc -l)" -ge 2 ]; }
lab_wait 5 two_syns	# the capture is written as packets come
syn=$($PY "$TOOL" syns "$PCAP" "$T4" "$S4" 8080 | tail -1)
tap_diag "the new connection's SYN: $syn"
hinted_before() { # hinted_before "TS PORT": the port was hinted before TS
	$PY "$TOOL" hints "$PCAP" "$T4" "$S4" $PORT | awk -v t="${1% *}" -v p="${1#* }" \
		'$1 < t && $2 == p {found = 1} END {exit !found}'
}
tap_ok "a new connection toward the server uses a port the server hinted (on the wire)" \
	hinted_before "$syn"
tap_ok "... counted as a hint taken" test "$(hjson "j['ports']['HINTS_TAKEN']")" -ge 1

# 2. Live, idle connections, then a restart under a stream of new ones. The
#    pool has 400 ports: taken at random, the stream's ports would hit
#    several of the live ones.
coproc CONNP { exec $PY "$CONN" "$LAB_NS_CLIENT" "$LAB_NS_SERVER" "$S4" "$S6" 7100; }
conn open >/dev/null
read -r _ LIVE_PORTS <<<"$(conn many $LIVE)"
tap_is "$LIVE live connections open" "$(wc -w <<<"$LIVE_PORTS")" "$LIVE"
acked_all() {
	[ "$(lab_ctl nat64 sessions --json | $PY -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin) if s.get("state")=="acked" and s.get("remote_port")==7100))')" -ge "$LIVE" ]
}
tap_ok "... their entries are acked (the server holds them)" lab_wait 20 acked_all
lines0=$(grep -c . "$HLOG")
lab__must ip -n "$LAB_NS_CLIENT" addr add 2001:db8:1::200/64 dev "$(ip -n "$LAB_NS_CLIENT" -o -6 addr show | awk '/2001:db8:1::100/ {print $2; exit}')" nodad
stream() { # stream SECONDS: new connections from ::200 as fast as they go
	lab_in client $PY -c '
import socket, sys, time
dst, end, n, i = sys.argv[1], time.monotonic() + float(sys.argv[2]), 0, 0
while time.monotonic() < end:
    i += 1
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    # Even client ports, as connect() picks them for the live ones (the
    # translator keeps the parity): both draw from the same half.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("2001:db8:1::200", 30000 + 2 * i))
    s.settimeout(1)
    try:
        s.connect((dst, 8080))
        n += 1
    except OSError:
        pass
    s.close()
print(n)' "$S6" "$1"
}
stream_logged() { [ "$(grep -c "Created $T4:[0-9]* \[2001:db8:1::200\]" "$HLOG")" -ge "$1" ]; }
stream 12 >"$LAB_DIR/stream.out" &
STREAM=$!
lab_wait 10 stream_logged 20	# the stream is under way
lab_sixfourd_stop
lines1=$(grep -c . "$HLOG")
lab_sixfourd_start "$LAB_DIR/hints.ini" || lab_bail "sixfourd did not restart"
wait $STREAM
made=$(cat "$LAB_DIR/stream.out")
tap_diag "the stream made $made connections around the restart"
tap_ok "a stream of new connections ran through the restart" test "${made:-0}" -ge 50
after=$(tail -n +$((lines0 + 1)) "$HLOG")
stolen=0
for p in $LIVE_PORTS; do
	grep -q "Deleted $T4:$p \\[$LAB_CLIENT6\\]" <<<"$after" && stolen=$((stolen + 1))
done
same=$(tail -n +$((lines1 + 1)) "$HLOG" | sed -n "s/.*Created $T4:\([0-9]*\) \[2001:db8:1::200\].*/\1/p" |
	sort -u | grep -cxF -f <(tr ' ' '\n' <<<"$LIVE_PORTS"))
tap_diag "ports of the live connections given to the stream after the restart: $same"
tap_is "no port of a live connection went to another client (no Deleted line for them)" "$stolen" 0
n_after=$(tail -n +$((lines1 + 1)) "$HLOG" | grep -c "Created $T4:[0-9]* \[2001:db8:1::200\]")
tap_diag "$n_after new connections of the stream after the restart"
tap_ok "every new connection after the restart took a hint of the server" \
	test "$n_after" -ge 1 -a "$(hjson "j['ports']['HINTS_TAKEN']")" -ge "$n_after"
read -r _ good bad <<<"$(conn manycheck after-restart)"
tap_is "every live connection carries data both ways after the restart" "$good" "$LIVE"
tap_is "... none failed" "${bad:-}" ""
tap_ok "... recovered by lookups of the entries the server kept" \
	test "$(hjson "j['totals']['HITS']")" -ge "$LIVE"
conn quit >/dev/null

# 3. A restart while the server's daemon is gone: the resumed session gets no
#    answer, and new connections do not wait for hints that never come.
handoffd_stop
lab_sixfourd_stop
lab_sixfourd_start "$LAB_DIR/hints.ini" || lab_bail "sixfourd did not restart"
quick() { for i in 1 2 3 4 5; do lab_in client curl -sS -m 2 -o /dev/null "http://[$S6]:8080/" || return 1; done; }
tap_ok "after a restart with the server's daemon gone, new connections still go (5 in a row)" quick
tap_ok "... without waiting for its hints (counted)" \
	test "$(hjson "j['totals']['HINTS_NOT_AWAITED']")" -ge 1
lab_sixfourd_stop
tap_done
