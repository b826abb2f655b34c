#!/bin/bash
# Cluster takeover benchmark (issue 16, doc/cluster.md; not a test), in the
# two-appliance lab of tests/netns/lab_cluster.sh with keepalived as
# documented (advert_int 1, track script every second). Each round opens K
# live TCP connections through the active node, each carrying 8 octets every
# PERIOD(K) ms in turn from either side, then fails the active node (the two
# nodes take turns) and measures, per connection, the failure to the first
# delivery through the new node ("kill->moving"), the last delivery through
# the old node to that one ("gap"), and how many of the K deliver again
# within 30 s ("kept"). Rounds:
#  - order: K = 1 where the client, then where the server speaks first after
#    the failure (only that side sends until it got through), for two
#    failures: "sixfourd" = kill -9 of the active node's sixfourd (its
#    keepalived's track script gives the addresses up), "node" = the whole
#    node at once (its switch ports stop forwarding, kill -9 of sixfourd and
#    every keepalived process: the peer's VRRP timer notices);
#  - sizes: K = 1, 100, 1000, kill -9 of sixfourd, both sides in turn; with
#    the LOOKUP load the takeover puts on the one server (LOOKUP and
#    LOOKUP-CLIENT messages on the server's wire, total and the most in
#    100 ms) and the failure to the new node's role "active";
#  - plain: what a user gets without the handoff protocol, in the same run:
#    K = 10 connections to a host without sixfour-handoffd, kill -9 of
#    sixfourd: kept 0 of 10 (the new node has no state for them).
# RUNS rounds of each, the kinds alternating; medians over the rounds.
#
#   sudo tests/bench/cluster_bench.sh     (RUNS=3 SIZES="1 100 1000" PLAIN=10;
#                                         KINDS="cli.node plain" for some rounds)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/lab_cluster.sh"
. "$top_srcdir/tests/netns/handoff_lib.sh"
RUNS=${RUNS:-3}
SIZES=${SIZES:-"1 100 1000"}
PLAIN=${PLAIN:-10}
lab_require tcpdump keepalived
trap "" PIPE	# a helper that died shows as a missing answer, not the end of the run
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
period() { case $1 in 1 | 10) echo 10 ;; 100) echo 50 ;; *) echo 200 ;; esac; }
links() { # links N up|down: node N's two switch ports forward or not (as
	# if its power failed: the node's own links and addresses stay as they are)
	local st=3
	[ "$2" = down ] && st=0
	bridge -n "$LAB_NS_SWITCH" link set dev "${LAB_NODE_SW6[$1]}" state $st
	bridge -n "$LAB_NS_SWITCH" link set dev "${LAB_NODE_SW4[$1]}" state $st
}

for n in 1 2; do
	# One client holds every connection of the bench (the per-client limits).
	lab_node $n
	lab_sixfourd_start "$(lab_cluster_ini $n "[general]" "log-level = notice" "[nat64]" \
		"max-sessions-per-client = 1048576" "pool4-ports-per-client = 65536")" || exit 1
done
lab_keepalived_start 1 && lab_wait 15 lab__role_is 1 active || lab_bail "node 1 active"
lab_keepalived_start 2 && lab_wait 15 back 2 || lab_bail "node 2 backup"

declare -A R
active=1 cport=7100
# one_round NAME K SIDE(cli|srv|-) FAIL(sixfourd|node) DEST(handoff|plain)
one_round() {
	local name=$1 k=$2 side=$3 fail=$4 dest=$5 other=$((3 - active)) cp t_kill t_act t_end
	local srvns=$LAB_NS_SERVER s4=$S4 s6=$S6 rec tot g50 g90 gmax f50 f90 fmax look det
	[ "$dest" = plain ] && srvns=$LAB_NS_DNS s4=$LAB_DNS4 s6=64:ff9b::$LAB_DNS4
	cport=$((cport + 1))
	rm -f "$LAB_DIR/c.in" "$LAB_DIR/c.out"
	mkfifo "$LAB_DIR/c.in" "$LAB_DIR/c.out"
	$PY "$CONNS" "$LAB_NS_CLIENT" "$srvns" "$s4" "$s6" "$cport" "$k" "$(period "$k")" \
		<"$LAB_DIR/c.in" >"$LAB_DIR/c.out" 2>>"$LAB_DIR/conns.log" &
	cp=$!
	exec 7>"$LAB_DIR/c.in" 8<"$LAB_DIR/c.out"
	echo open >&7
	read -r -t 120 _ _ _ <&8
	if [ "$dest" = handoff ]; then
		lab_wait 30 acked_ge "$active" "$k" || echo "# $name: not every entry acked" >&2
	fi
	sleep 1
	echo mark >&7
	read -r -t 10 _ t_kill <&8
	lab_node "$active"
	[ "$fail" = node ] && links "$active" down
	kill -KILL "$LAB_SIXFOURD_PID"
	[ "$fail" = node ] && lab_keepalived_kill "$active"
	echo "go ${side#-}" >&7
	read -r -t 10 _ <&8
	wait "$LAB_SIXFOURD_PID" 2>/dev/null
	LAB_SIXFOURD_PID=
	lab_wait 20 lab__role_is "$other" active || echo "# $name: node $other not active" >&2
	t_act=$(changed_at "$other")
	echo "report 30" >&7
	read -r -t 60 _ rec tot _ g50 g90 gmax _ f50 f90 fmax <&8
	t_end=$(now)
	sleep 1	# tcpdump writes what it saw
	look=$($PY "$TOOL2" lookups "$LAB_DIR/server.pcap" "$T4" "$PORT" "$t_kill" "$t_end")
	det=$(ms "$t_kill" "$t_act")
	echo "# $name ($fail, node $active -> $other): kept $rec/$tot, kill->moving p50 $f50 max $fmax ms, gap p50 $g50 max $gmax ms, kill->active $det ms, $look"
	R[$name.first50]+="$f50 " R[$name.firstmax]+="$fmax " R[$name.gap50]+="$g50 "
	R[$name.det]+="$det " R[$name.rec]+="$rec/$tot "
	R[$name.look]+="$(echo "$look" | awk '{print $2}') " R[$name.peak]+="$(echo "$look" | awk '{print $4}') "
	echo quit >&7
	exec 7>&- 8<&-
	wait "$cp" 2>/dev/null
	if [ "$fail" = node ]; then
		# A node that boots again holds no virtual address.
		ip -n "${LAB_NODE_NS[$active]}" addr del "$LAB_VIP6/128" dev "${LAB_NODE_IF6[$active]}" 2>/dev/null
		ip -n "${LAB_NODE_NS[$active]}" addr del "$LAB_VIP_LL/128" dev "${LAB_NODE_IF6[$active]}" 2>/dev/null
		ip -n "${LAB_NODE_NS[$active]}" addr del "$LAB_VIP4/24" dev "${LAB_NODE_IF4[$active]}" 2>/dev/null
		links "$active" up
	fi
	lab_sixfourd_start "$LAB_DIR/node$active/sixfour.ini" || exit 1
	[ "$fail" = node ] && { lab_keepalived_start "$active" || exit 1; }
	lab_wait 20 back "$active" || echo "# $name: node $active did not come back as backup" >&2
	active=$other
	lab_node "$active"
}

if [ -z "${KINDS:-}" ]; then
	KINDS="cli.sixfourd srv.sixfourd cli.node srv.node"
	for k in $SIZES; do KINDS+=" size$k"; done
	KINDS+=" plain"
fi
for run in $(seq "$RUNS"); do
	order=$KINDS
	[ $((run % 2)) = 0 ] && order=$(printf '%s\n' $KINDS | tac | tr '\n' ' ')
	for kind in $order; do
		case $kind in
		cli.* | srv.*) one_round "$kind" 1 "${kind%%.*}" "${kind#*.}" handoff ;;
		size*) one_round "$kind" "${kind#size}" - sixfourd handoff ;;
		plain) one_round plain "$PLAIN" - sixfourd plain ;;
		esac
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %-5s %-14s %-12s %-12s %-12s %-8s %s\n' round K "kept (runs)" "kill->moving" \
	"... max" "kill->active" lookups "peak/100ms"
for kind in $KINDS; do
	case $kind in size*) k=${kind#size} ;; plain) k=$PLAIN ;; *) k=1 ;; esac
	printf '%-14s %-5s %-14s %-12s %-12s %-12s %-8s %s\n' "$kind" "$k" "${R[$kind.rec]% }" \
		"$(median ${R[$kind.first50]}) ms" "$(median ${R[$kind.firstmax]}) ms" \
		"$(median ${R[$kind.det]}) ms" "$(median ${R[$kind.look]})" "$(median ${R[$kind.peak]})"
done
for kind in $KINDS; do
	echo "# per run $kind: kill->moving p50 [${R[$kind.first50]% }] kill->active [${R[$kind.det]% }]"
done
