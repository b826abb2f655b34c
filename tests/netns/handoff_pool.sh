#!/bin/bash
# The handoff datagrams' transport in the two pool4 modes other than the
# default (handoff_nat64.sh covers that one):
#  - a shared range that leaves the handoff port out (40000-40999 on the
#    appliance's own address): the port gets its own steering entry, so the
#    server's replies still reach the translator;
#  - dedicated pool addresses (192.88.99.64/30, not addresses of the host,
#    routed to the TUN): notices leave from them and a flushed entry comes
#    back by LOOKUP.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_require nft curl
tap_plan 14
lab_setup
PY=/usr/bin/python3
HANDOFFD=$(lab__bin sixfour-handoffd) || { echo "Bail out! sixfour-handoffd not built"; exit 1; }
S4=$LAB_SERVER4 S6=64:ff9b::$LAB_SERVER4
HLOG=$LAB_DIR/handoffd.log
mkdir -p "$LAB_DIR/hstate"
lab_server_http 8080
lab_bg server handoffd-out "$HANDOFFD" -d "$LAB_DIR/hstate" -l "$HLOG" -u nobody
lab_wait 10 lab__listening server udp 64646
ini() { # ini POOL4
	lab_ini_nat64 "$LAB_DIR/pool.ini" 2 '[nat64]' "pool4 = $1"
	echo "$LAB_DIR/pool.ini"
}
state_of() { # state_of T: the handoff session T -> S
	lab_ctl handoff --json | $PY -c 'import json,sys; j=json.load(sys.stdin); print(next((s["state"] for s in j["sessions"] if s["nat64"]==sys.argv[1] and s["server"]==sys.argv[2]), "none"))' "$1" "$S4"
}
established() { [ "$(state_of "$1")" = established ]; }
curl_once() { lab_in client curl -sS -m5 "http://[$S6]:8080/" >/dev/null; }

# --- shared, a range without the handoff port ---
lab_sixfourd_start "$(ini "$LAB_APPL4:40000-40999")" || { echo "Bail out! sixfourd"; exit 1; }
rules=$(lab_in appl nft list table inet sixfour)
tap_like "the shared range is steered" "$rules" 'dport 40000-40999'
tap_like "... and the handoff port on its own" "$rules" 'udp dport 64646'
tap_like "the handoff port is reserved from local sockets" \
	"$(lab_in appl cat /proc/sys/net/ipv4/ip_local_reserved_ports)" '64646'
tap_ok "a connection through the shared range" curl_once
tap_ok "the server's HELLO-ACK reaches the translator: session established" \
	lab_wait 10 established "$LAB_APPL4"
tap_ok "the server logs the client behind a port of the range" \
	lab_wait 10 grep -Eq "Created $LAB_APPL4:40[0-9]{3} \\[$LAB_CLIENT6\\]:[0-9]+\$" "$HLOG"
lab_sixfourd_stop

# --- dedicated pool addresses ---
lab_in server ip route add 192.88.99.64/30 via "$LAB_APPL4"
lab_sixfourd_start "$(ini 192.88.99.64/30)" || { echo "Bail out! sixfourd"; exit 1; }
tap_unlike "no steering of the handoff port in dedicated mode" \
	"$(lab_in appl nft list table inet sixfour 2>/dev/null)" 'dport 64646'
coproc CONNP { exec $PY "$top_srcdir/tests/netns/handoff_conn.py" "$LAB_NS_CLIENT" \
	"$LAB_NS_SERVER" "$S4" "$S6" 7100; }
conn() { echo "$*" >&"${CONNP[1]}"; local l=; read -r -t 60 l <&"${CONNP[0]}"; echo "$l"; }
read -r _ CPORT T4 PPORT <<<"$(conn open)"
tap_like "the connection leaves from a dedicated pool address" "$T4" '^192\.88\.99\.6[4-7]$'
tap_ok "notices from the dedicated address: session established" lab_wait 10 established "$T4"
tap_ok "the server logs the dedicated address and the client" \
	lab_wait 10 grep -Eq "Created $T4:$PPORT \\[$LAB_CLIENT6\\]:$CPORT\$" "$HLOG"
acked() { lab_ctl nat64 sessions | grep -q "\]:$CPORT .* acked"; }
tap_ok "the entry is acked" lab_wait 10 acked
lab_ctl flush sessions >/dev/null
tap_is "after a flush the server's next packet is looked up and delivered" "$(conn s2c dedicated)" ok
tap_is "... and the client's answer goes through" "$(conn c2s dedicated-back)" ok
hits=$(lab_ctl handoff --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["totals"]["HITS"])')
tap_is "one LOOKUP found the entry" "$hits" 1
conn quit >/dev/null
lab_sixfourd_stop
tap_done
