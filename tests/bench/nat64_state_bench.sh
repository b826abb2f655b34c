#!/bin/bash
# Stateful-translator benchmark (not a test): RFC 9693 figures for sixfourd
# and for what a user would pick instead, TAYGA with nftables masquerade
# (kernel conntrack keeps the state), in the same lab, rounds alternating:
#
#   capacity  entries held after offering more one-packet flows than the
#             table holds (sixfourd: max-sessions; conntrack:
#             nf_conntrack_max), and memory per entry
#   setup     new flows per second forwarded, RFC 4814 pseudorandom ports
#             (source 1024-65535, destination 1-49151), one UDP packet each,
#             offered as fast as the sender goes for SECS (loss reported)
#   teardown  entries deleted per second: the full table flushed
#             (sixfourctl nat64 flush / conntrack -F)
#   flood     one TCP flow's throughput while a spoofed flood of one-packet
#             flows from 10,000 /56s fills the table, against the same flow
#             without the flood
# Figures are medians of RUNS rounds; ratios are medians of per-round ratios.
# CONTENTION=1 instead measures the session table's lock with 2 workers:
# packets that found it taken, for the build in $top_builddir and (if set)
# $OLD_BUILDDIR, alternating (doc/design-notes.md has the figures).
#
#   sudo tests/bench/nat64_state_bench.sh     (RUNS=3 SECS=3 TABLE=262144)
# HANDOFF=no runs sixfourd without the handoff protocol (on by default: its
# notices cost the main loop some CPU per new session).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/bench/lib.sh"
RUNS=${RUNS:-3}
SECS=${SECS:-3}
TABLE=${TABLE:-262144}
CONTENTION=${CONTENTION:-}
OLD_BUILDDIR=${OLD_BUILDDIR:-}
bench_setup iperf3 tayga nft cc conntrack
PREFIX=2001:db8:64::
POOL_DYN=192.168.255.0/24
FLOOD=$LAB_DIR/nat64_flood
SPOOF=$top_srcdir/tests/netns/nat64_spoof.py
cc -O2 -pthread -o "$FLOOD" "$top_srcdir/tests/bench/nat64_flood.c" || exit 1
DST6=${PREFIX}$LAB_SERVER4

lab_in server ip route add 192.88.99.64/30 via "$LAB_APPL4"
lab_bg server iperf3 iperf3 -s -p 5201
lab_bg server accept "$FLOOD" accept 0.0.0.0 9000 2
lab_wait 10 lab_in server sh -c "ss -ltn | grep -q ':5201 '"
# The server counts what reaches it and drops it (no replies: one-way
# flows stay one-packet flows for both translators).
lab_in server nft -f - <<'NFT'
table inet bench {
	chain in { type filter hook input priority 0; udp dport != 5201 counter drop; }
}
NFT
udp_in() { lab_in server nft list chain inet bench in | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
tx_packets() {
	lab_in client cat "/sys/class/net/$LAB_IF_CLIENT/statistics/tx_packets"; }

cat >"$LAB_DIR/bench.ini" <<INI
[general]
workers = ${WORKERS:-2}
log-level = notice
$(lab_ini_disable dns64)
[prefix bench]
prefix = ${PREFIX}/96
translate = yes
[nat64]
pool4 = 192.88.99.64/30
max-sessions = $TABLE
max-sessions-per-client = 16777216
pool4-ports-per-client = 65536
${HANDOFF:+[handoff]
enable = $HANDOFF}
INI
. "$top_srcdir/tests/bench/tayga.sh"
sjson() { lab_ctl --json nat64 stats | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ms() { date +%s%3N; }
declare -A R

# --- contention mode ---
if [ -n "$CONTENTION" ]; then
	# Options both builds know (an older one may lack pool4-ports-per-client).
	sed -i '/^pool4-ports-per-client/d' "$LAB_DIR/bench.ini"
	builds=("$top_builddir")
	[ -n "$OLD_BUILDDIR" ] && builds+=("$OLD_BUILDDIR")
	for round in $(seq "$RUNS"); do
		for b in "${builds[@]}"; do
			top_builddir=$b lab_sixfourd_start "$LAB_DIR/bench.ini" || exit 1
			lab_bg client churn "$FLOOD" conn "$DST6" 9000 "$SECS" 2
			churn=$LAB_LAST_PID
			lab_in client iperf3 -c "$DST6" -p 5201 -t "$SECS" -P 4 >/dev/null 2>&1
			wait "$churn"
			line=$(nsenter -t "$LAB_SIXFOURD_PID" -m -n "$b/sixfourctl" --json nat64 stats |
				/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
ev = d.get("session_events") or d["sessions"]
p = d["packets"]
print(ev["lock_waits"], p["rx6"] + p["rx4"])')
			R[$b]+="$line;"
			lab_sixfourd_stop
		done
	done
	for b in "${builds[@]}"; do
		echo "$b: lock waits / packets per round: ${R[$b]}"
		/usr/bin/python3 -c "
import statistics, sys
r = [tuple(map(int, x.split())) for x in sys.argv[1].split(';') if x]
f = [w / p for w, p in r if p]
print('  median %.4f %% of %d..%d packets found the lock taken' % (100 * statistics.median(f), min(p for _, p in r), max(p for _, p in r)))" "${R[$b]}"
	done
	exit 0
fi

# --- one round of every figure for one data plane ---
measure() { # measure MODE
	local mode=$1 v sent el got t0 t1 n
	# setup: RFC 4814 flows as fast as the sender goes; what left the
	# client is counted on its interface (sendto may report congestion
	# for packets the queue took)
	local tx0 tx1 in0
	in0=$(udp_in)
	tx0=$(tx_packets)
	v=$(lab_in client "$FLOOD" rfc4814 2001:db8:1::100 "$DST6" "$SECS" 0)
	el=${v#* }
	tx1=$(tx_packets)
	sent=$((tx1 - tx0))
	sleep 0.5
	got=$(($(udp_in) - in0))
	R[$mode.setup]+="$(/usr/bin/python3 -c "print(int($got / $el))") "
	R[$mode.loss]+="$(/usr/bin/python3 -c "print(round(100 * (1 - $got / max($sent, 1)), 1))") "
	# capacity: what the table holds now
	if [ "$mode" = sixfour ]; then
		n=$(sjson "d['sessions']['count']")
	else
		n=$(lab_in appl conntrack -C 2>/dev/null)
	fi
	R[$mode.held]+="$n "
	# teardown: delete everything, timed
	t0=$(ms)
	if [ "$mode" = sixfour ]; then
		lab_ctl nat64 flush >/dev/null
	else
		lab_in appl conntrack -F >/dev/null 2>&1
	fi
	t1=$(ms)
	R[$mode.teardown]+="$(/usr/bin/python3 -c "print(int($n * 1000 / max($t1 - $t0, 1)))") "
	# one TCP flow alone, then with the spoofed flood filling the table
	R[$mode.tcp]+="$(lab_in client iperf3 -c "$DST6" -p 5201 -t "$SECS" -J 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))') "
	lab_bg client iperf-flood iperf3 -c "$DST6" -p 5201 -t "$((SECS + 2))" -J
	local ip=$LAB_LAST_PID
	sleep 1
	lab_in client /usr/bin/python3 "$SPOOF" flood "$DST6" 9 300000 30 2001:db8:1000:: 0 >/dev/null
	wait "$ip"
	R[$mode.tcpflood]+="$(/usr/bin/python3 -c '
import json, sys
t = open(sys.argv[1]).read()
print(int(json.loads(t[t.rindex("\n{") if "\n{" in t else 0:])["end"]["sum_received"]["bits_per_second"]))' "$LAB_DIR/iperf-flood.log" 2>/dev/null || echo 0) "
	: >"$LAB_DIR/iperf-flood.log"
}

for round in $(seq "$RUNS"); do
	lab_sixfourd_start "$LAB_DIR/bench.ini" || exit 1
	measure sixfour
	mem=$(sjson "d['sessions']['memory']")
	lab_sixfourd_stop
	tayga_start
	measure tayga
	tayga_stop
done

rratio() { /usr/bin/python3 -c "
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
r = [x / y for x, y in zip(a, b) if y]
print('%.2f' % statistics.median(r) if r else 'n/a')" "$1" "$2"; }
for mode in sixfour tayga; do
	echo "# $mode: setup ${R[$mode.setup]}| loss ${R[$mode.loss]}| held ${R[$mode.held]}| teardown ${R[$mode.teardown]}| tcp ${R[$mode.tcp]}| tcp+flood ${R[$mode.tcpflood]}" >&2
done
ct_max=$(lab_in appl sysctl -n net.netfilter.nf_conntrack_max 2>/dev/null)
ct_size=$(awk '$1 == "nf_conntrack" {print $4}' /proc/slabinfo 2>/dev/null)
printf '\n%-40s %14s %14s %10s\n' "median of $RUNS rounds, ${SECS}s each" sixfourd "tayga+nft" "ratio"
for k in setup loss held teardown tcp tcpflood; do
	case $k in
	setup) name="new flows/s forwarded (RFC 4814 ports)" ;;
	loss) name="  of the offered flows lost (%)" ;;
	held) name="entries held after the offered load" ;;
	teardown) name="entries deleted per second (flush)" ;;
	tcp) name="one TCP flow (bit/s)" ;;
	tcpflood) name="one TCP flow under a spoofed flood" ;;
	esac
	printf '%-40s %14s %14s %10s\n' "$name" "$(median ${R[sixfour.$k]})" "$(median ${R[tayga.$k]})" \
		"$(rratio "${R[sixfour.$k]}" "${R[tayga.$k]}")"
done
printf '%-40s %14s %14s\n' "under the flood / alone" "$(rratio "${R[sixfour.tcpflood]}" "${R[sixfour.tcp]}")" \
	"$(rratio "${R[tayga.tcpflood]}" "${R[tayga.tcp]}")"
echo "table size: sixfourd max-sessions $TABLE ($((mem / TABLE)) B per entry allocated); conntrack max $ct_max (${ct_size:-?} B per entry)"
exit 0
