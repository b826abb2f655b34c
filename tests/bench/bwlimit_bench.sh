#!/bin/bash
# Bandwidth limit benchmark (not a test; issue 12): does a 10 Mbit/s
# [ratelimit] bandwidth cap hold with workers = 2, and does a per-client
# limit give a second client its share? In the lab topology, in rounds
# whose order alternates:
#   new      this build: one budget shared by every worker, a short queue
#   policer  this build with bandwidth-queue = 0 (drops at once: what the
#            queue buys)
#   old      OLD_BUILDDIR's sixfourd, when set (a build of the code before the
#            change, e.g. 1e881e7: a policer per worker with rate / workers)
# Figures (iperf3 goodput after its first 2 s, medians of RUNS rounds):
#   tcp1  one TCP flow up, tcp4  four TCP flows up,
#   udp1  one UDP flow offered at 20 Mbit/s (received rate).
# Then two clients (prefix-len = 128, so each address is a client) share
# the cap: a heavy one sends UDP at 20 Mbit/s while a second one runs one
# TCP flow:
#   shared     the cap only (new)
#   perclient  the cap plus client-bandwidth = 5 Mbit/s (new)
#   oldshared  the cap only (old; it has no per-client limit)
# The cap counts IP octets both ways, so TCP goodput tops out near 94 %.
#
#   sudo OLD_BUILDDIR=/path/to/old/build tests/bench/bwlimit_bench.sh
#   (RUNS=5 SECS=8 by default; top_builddir = this build)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/bench/lib.sh"
RUNS=${RUNS:-5}
SECS=${SECS:-8}
OLD_BUILDDIR=${OLD_BUILDDIR:-}
NEW_BUILDDIR=$top_builddir
bench_setup iperf3
SERVER6=64:ff9b::$LAB_SERVER4
HEAVY=$LAB_CLIENT6 SECOND=2001:db8:1::200
ip -n "$LAB_NS_CLIENT" addr add "$SECOND/64" dev "$LAB_IF_CLIENT" nodad
lab_bg server iperf3a iperf3 -s -p 5201
lab_bg server iperf3b iperf3 -s -p 5202
lab_wait 10 lab__listening server tcp 5201 || lab_bail "iperf3 server"
lab_wait 10 lab__listening server tcp 5202 || lab_bail "iperf3 server"

ini() { # ini FILE [ratelimit] LINES...
	local f=$1
	shift
	{
		printf '[general]\nworkers = 2\nlog-level = notice\n[dns64]\nenable = no\n'
		printf '[handoff]\nenable = no\n[ratelimit]\nprefix-len = 128\n'
		printf '%s\n' "$@"
	} >"$f"
}
ini "$LAB_DIR/cap.ini" "bandwidth = 1250000"
ini "$LAB_DIR/client.ini" "bandwidth = 1250000" "client-bandwidth = 625000"
ini "$LAB_DIR/policer.ini" "bandwidth = 1250000" "bandwidth-queue = 0"

start() { # start new|old INI
	local dir=$NEW_BUILDDIR
	[ "$1" = old ] && dir=$OLD_BUILDDIR
	top_builddir=$dir lab_sixfourd_start "$2" || exit 1
}
stop() { top_builddir=$NEW_BUILDDIR lab_sixfourd_stop; }
# iperf3 goodput in Mbit/s (received), after the first 2 s; 0 when the
# flow got nothing (iperf3's error, such as a control connection that
# could not be set up, goes to errors.log).
goodput() { # goodput JSON-FILE
	/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d:
    print(d["error"], file=sys.stderr)
    print("0")
else:
    e = d["end"]
    s = e.get("sum_received") or e["sum"]
    print("%.2f" % (s["bits_per_second"] / 1e6))' "$1" 2>>"$LAB_DIR/errors.log" || echo 0
}
mbps() { # mbps PORT IPERF-ARGS...
	lab_in client iperf3 -c "$SERVER6" -p "$1" -t "$SECS" -O 2 -J "${@:2}" >"$LAB_DIR/flow.json" 2>/dev/null
	goodput "$LAB_DIR/flow.json"
}
udp() { mbps "$1" -u -l 1200 -b 20M "${@:2}"; }

declare -A R	# R[mode.metric] = "v1 v2 ..."
cap_round() { # cap_round new|policer|old
	case $1 in
	policer) start new "$LAB_DIR/policer.ini" ;;
	*) start "$1" "$LAB_DIR/cap.ini" ;;
	esac
	R[$1.tcp1]+="$(mbps 5201) "
	R[$1.tcp4]+="$(mbps 5201 -P 4) "
	R[$1.udp1]+="$(udp 5201) "
	stop
}
share_round() { # share_round shared|perclient|oldshared
	local which=new ini=$LAB_DIR/cap.ini heavy
	[ "$1" = perclient ] && ini=$LAB_DIR/client.ini
	[ "$1" = oldshared ] && which=old
	start $which "$ini"
	# The heavy client's UDP runs 2 s longer on each side of the TCP flow.
	lab_in client sh -c "iperf3 -c $SERVER6 -p 5202 -t $((SECS + 4)) -J -u -l 1200 -b 20M -B $HEAVY >$LAB_DIR/heavy.json 2>/dev/null" &
	heavy=$!
	sleep 1
	R[$1.second]+="$(mbps 5201 -B "$SECOND") "
	wait $heavy
	R[$1.heavy]+="$(goodput "$LAB_DIR/heavy.json") "
	stop
}

echo "load before: $(uptime)"
modes=(new policer)
[ -n "$OLD_BUILDDIR" ] && modes=(new policer old)
smodes=(shared perclient)
[ -n "$OLD_BUILDDIR" ] && smodes=(shared perclient oldshared)
for round in $(seq "$RUNS"); do
	for i in "${!modes[@]}"; do cap_round "${modes[$(( (i + round) % ${#modes[@]} ))]}"; done
	for i in "${!smodes[@]}"; do share_round "${smodes[$(( (i + round) % ${#smodes[@]} ))]}"; done
	echo "# round $round: $(for k in "${!R[@]}"; do printf '%s=[%s] ' "$k" "${R[$k]}"; done)" >&2
done
echo "load after: $(uptime)"
[ -s "$LAB_DIR/errors.log" ] && { echo "iperf3 errors (a flow that got nothing):"; sort "$LAB_DIR/errors.log" | uniq -c; }

# shellcheck disable=SC2086 # R[KEY] holds the round's figures, one word each
m() { [ -n "${R[$1]:-}" ] && median ${R[$1]} || echo -; }
printf '\nmedians of %s rounds x %ss, Mbit/s, [ratelimit] bandwidth = 10 Mbit/s, workers = 2\n' "$RUNS" "$SECS"
printf '%-34s %8s %8s %8s   %s\n' "" new policer old "(rounds: new | policer | old)"
for k in tcp1 tcp4 udp1; do
	case $k in
	tcp1) name="1 TCP flow" ;;
	tcp4) name="4 TCP flows together" ;;
	udp1) name="1 UDP flow offered 20 Mbit/s" ;;
	esac
	printf '%-34s %8s %8s %8s   %s| %s| %s\n' "$name" "$(m new.$k)" "$(m policer.$k)" "$(m old.$k)" \
		"${R[new.$k]}" "${R[policer.$k]}" "${R[old.$k]:-}"
done
printf '\ntwo clients: heavy UDP at 20 Mbit/s, a second client with 1 TCP flow\n'
printf '%-34s %8s %8s   %s\n' "" heavy second "(rounds of the second)"
for k in shared perclient oldshared; do
	[ -n "${R[$k.second]:-}" ] || continue
	case $k in
	shared) name="cap only" ;;
	perclient) name="cap + client-bandwidth 5 Mbit/s" ;;
	oldshared) name="cap only, old code" ;;
	esac
	printf '%-34s %8s %8s   %s\n' "$name" "$(m $k.heavy)" "$(m $k.second)" "${R[$k.second]}"
done
exit 0
