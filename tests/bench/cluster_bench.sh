#!/bin/bash
# Cluster takeover benchmark (issue 16, doc/cluster.md; not a test), in the
# two-appliance lab of tests/netns/lab_cluster.sh with keepalived as
# documented (advert_int 1, track script every second):
#  - the takeover gap for K = 1, 100 and 1000 live TCP connections to a host
#    running sixfour-handoffd, each carrying 8 octets every PERIOD(K) ms in
#    turn from either side: per connection, the last delivery through the
#    old node to the first through the new one, and the time from the
#    failure (kill -9 of the active node's sixfourd) to that first delivery;
#  - how that splits: the failure to the new node's role "active"
#    (keepalived: track script, VRRP), then recovery (lookups);
#  - the LOOKUP load the takeover puts on the one server: LOOKUP and
#    LOOKUP-CLIENT messages on the server's wire, total and the most in
#    100 ms.
# RUNS rounds, the sizes in alternating order; each round kills the active
# node (the two nodes take turns). Medians over the rounds.
#
#   sudo tests/bench/cluster_bench.sh     (RUNS=3 SIZES="1 100 1000")
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/lab_cluster.sh"
. "$top_srcdir/tests/netns/handoff_lib.sh"
RUNS=${RUNS:-3}
SIZES=${SIZES:-"1 100 1000"}
lab_require tcpdump keepalived
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
lab_cluster_setup
handoff_lab_vars
T4=$LAB_POOL4
CONNS=$top_srcdir/tests/bench/cluster_conns.py
TOOL2=$top_srcdir/tests/netns/cluster_tool.py
HSTATE=$LAB_DIR/handoffd HLOG=$LAB_DIR/handoffd.log
mkdir -p "$HSTATE"
handoffd_start || lab_bail "sixfour-handoffd"
ip netns exec "$LAB_NS_SWITCH" tcpdump -i "${LAB_ID}ws" -U -n -s 256 -B 8192 \
	-w "$LAB_DIR/server.pcap" "udp port $PORT" >"$LAB_DIR/tcpdump.log" 2>&1 &
LAB_PIDS+=("$!")
lab_wait 10 grep -q 'listening on' "$LAB_DIR/tcpdump.log"
now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%d", (b - a) * 1000}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
changed_at() {
	lab_node_ctl "$1" --json cluster | $PY -c 'import json,sys; print(json.load(sys.stdin)["changed_at_us"] / 1e6)'
}
acked() { # acked N: node N's acked entries
	lab_node_ctl "$1" --json nat64 stats | $PY -c 'import json,sys; print(json.load(sys.stdin)["sessions"]["acked"])'
}
acked_ge() { [ "$(acked "$1")" -ge "$2" ]; }
back() { lab__role_is "$1" standby && lab_node_ctl "$1" --json cluster | grep -q '"keepalived":"backup"'; }
period() { case $1 in 1) echo 10 ;; 100) echo 50 ;; *) echo 200 ;; esac; }

for n in 1 2; do
	lab_node $n
	lab_sixfourd_start "$(lab_cluster_ini $n "[general]" "log-level = notice")" || exit 1
done
lab_keepalived_start 1 && lab_wait 15 lab__role_is 1 active || lab_bail "node 1 active"
lab_keepalived_start 2 && lab_wait 15 back 2 || lab_bail "node 2 backup"

declare -A R
active=1
for run in $(seq "$RUNS"); do
	order=$SIZES
	[ $((run % 2)) = 0 ] && order=$(printf '%s\n' $SIZES | tac | tr '\n' ' ')
	for k in $order; do
		other=$((3 - active))
		rm -f "$LAB_DIR/c.in" "$LAB_DIR/c.out"
		mkfifo "$LAB_DIR/c.in" "$LAB_DIR/c.out"
		$PY "$CONNS" "$LAB_NS_CLIENT" "$LAB_NS_SERVER" "$S4" "$S6" $((7100 + run * 10 + ${#k})) \
			"$k" "$(period "$k")" <"$LAB_DIR/c.in" >"$LAB_DIR/c.out" 2>>"$LAB_DIR/conns.log" &
		cp=$!
		exec 7>"$LAB_DIR/c.in" 8<"$LAB_DIR/c.out"
		echo open >&7
		read -r -t 120 _ n _ <&8
		lab_wait 30 acked_ge "$active" "$k" || echo "# run $run K=$k: not every entry acked" >&2
		sleep 1
		echo mark >&7
		read -r _ t_kill <&8
		lab_node "$active"
		kill -KILL "$LAB_SIXFOURD_PID"
		wait "$LAB_SIXFOURD_PID" 2>/dev/null
		LAB_SIXFOURD_PID=
		lab_wait 20 lab__role_is "$other" active || echo "# run $run: node $other not active" >&2
		t_act=$(changed_at "$other")
		echo "report 30" >&7
		read -r -t 60 _ rec tot _ g50 g90 gmax _ f50 f90 fmax <&8
		t_end=$(now)
		sleep 1	# tcpdump writes what it saw
		look=$($PY "$TOOL2" lookups "$LAB_DIR/server.pcap" "$T4" "$PORT" "$t_kill" "$t_end")
		det=$(ms "$t_kill" "$t_act")
		echo "# run $run K=$k (node $active -> $other): recovered $rec/$tot, gap p50 $g50 p90 $g90 max $gmax ms, kill->first p50 $f50 max $fmax ms, kill->active $det ms, $look"
		R[$k.gap50]+="$g50 " R[$k.gapmax]+="$gmax " R[$k.first50]+="$f50 " R[$k.firstmax]+="$fmax "
		R[$k.det]+="$det " R[$k.rec]+="$rec/$tot "
		R[$k.look]+="$(echo "$look" | awk '{print $2}') " R[$k.peak]+="$(echo "$look" | awk '{print $4}') "
		echo quit >&7
		exec 7>&- 8<&-
		wait "$cp" 2>/dev/null
		lab_sixfourd_start "$LAB_DIR/node$active/sixfour.ini" || exit 1
		lab_wait 20 back "$active" || echo "# run $run: node $active did not come back as backup" >&2
		active=$other
		lab_node "$active"
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-10s %-11s %-12s %-12s %-11s %-10s %s\n' K recovered "gap p50" "gap max" \
	"kill->1st" "kill->act" lookups "peak/100ms"
for k in $SIZES; do
	printf '%-6s %-10s %-11s %-12s %-12s %-11s %-10s %s\n' "$k" "${R[$k.rec]%% *}" \
		"$(median ${R[$k.gap50]}) ms" "$(median ${R[$k.gapmax]}) ms" \
		"$(median ${R[$k.first50]}) ms" "$(median ${R[$k.det]}) ms" \
		"$(median ${R[$k.look]})" "$(median ${R[$k.peak]})"
done
echo "# per run: gap p50 [${R[1000.gap50]:-}] (K=1000); kill->active [${R[1.det]:-} | ${R[100.det]:-} | ${R[1000.det]:-}]"
