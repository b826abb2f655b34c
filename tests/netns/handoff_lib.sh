# Helpers of the handoff lab tests (handoff_nat64.sh, handoff_recovery.sh,
# handoff_hints.sh, handoff_udp_first.sh), sourced after lib.sh. They use
# PY, S4, T4, PORT, HANDOFFD, HSTATE, HLOG and the coprocess CONNP
# (handoff_conn.py, handoff_udp.py) of the test.

# hjson EXPR: evaluates EXPR on `sixfourctl handoff --json` (j), e.g.
# "j['totals']['LOOKUPS']"; prints the value.
hjson() {
	lab_ctl handoff --json | $PY -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
htotal() { hjson "j['totals']['$1']"; }
hglue() { hjson "j['glue']['$1']"; }
# State of the handoff session T -> S: established, probing or none.
hstate() {
	hjson "next((s['state'] for s in j['sessions'] if s['server']=='$S4' and s['nat64']=='$T4'), 'none')"
}
is_state() { [ "$(hstate)" = "$1" ]; }
# A TCP connection's translator session as JSON fields (SESS_PROTO=udp:
# a UDP flow's).
sess_field() { # sess_field CLIENT_PORT FIELD
	lab_ctl nat64 sessions --json | $PY -c '
import json, sys
port, field, proto = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for s in json.load(sys.stdin):
    if s.get("proto") == proto and s.get("client_port") == port:
        print(s.get(field)); break
else:
    print("none")' "$1" "$2" "${SESS_PROTO:-tcp}"
}
field_is() { [ "$(sess_field "$1" "$2")" = "$3" ]; }
# sixfour-handoffd on the server (as nobody: the lab has no user of its
# own for it; handoff_server.py checks the default user).
handoffd_start() {
	lab_bg server handoffd-out "$HANDOFFD" -d "$HSTATE" -l "$HLOG" -u nobody -r 0
	HANDOFFD_PID=$LAB_LAST_PID
	lab_wait 10 lab__listening server udp $PORT
}
handoffd_stop() {
	kill -TERM "$HANDOFFD_PID" 2>/dev/null
	lab_wait 10 sh -c "! kill -0 $HANDOFFD_PID 2>/dev/null"
	wait "$HANDOFFD_PID" 2>/dev/null
	return 0
}
conn() { # conn CMD...: one command to the connection helper, its answer
	echo "$*" >&"${CONNP[1]}"
	local line=
	read -r -t 120 line <&"${CONNP[0]}"
	echo "$line"
}
# handoff_lab_vars: the names every handoff lab uses (after lab_setup).
handoff_lab_vars() {
	PY=/usr/bin/python3
	TOOL=$top_srcdir/tests/netns/handoff_tool.py
	CONN=$top_srcdir/tests/netns/handoff_conn.py
	HANDOFFD=$(lab__bin sixfour-handoffd) || lab_bail "sixfour-handoffd not built"
	PORT=64646
	T4=$LAB_APPL4 S4=$LAB_SERVER4
	S6=64:ff9b::$S4
}
# spoof_ns_up: a third namespace SP on the IPv4 bridge, 192.88.99.99, that
# forges packets in the server's name (scapy); removed at exit.
spoof_ns_up() {
	SP=$LAB_ID-spoof
	lab_at_exit spoof_cleanup
	flock /tmp/sixfour-lab.lock ip netns add "$SP"
	ip link add "${LAB_ID}x" netns "$SP" type veth peer name "${LAB_ID}ax" netns "$LAB_NS_APPL"
	ip -n "$LAB_NS_APPL" link set "${LAB_ID}ax" master "$LAB_IF_APPL4" up
	ip -n "$SP" addr add 192.88.99.99/24 dev "${LAB_ID}x"
	ip -n "$SP" link set "${LAB_ID}x" up
	ip -n "$SP" link set lo up
	lab_wait 10 ip netns exec "$SP" ping -c1 -W1 "$T4"
}
spoof_cleanup() { ip netns pids "$SP" 2>/dev/null | xargs -r kill -KILL; ip netns del "$SP" 2>/dev/null; }
