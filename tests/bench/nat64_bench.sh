#!/bin/bash
# NAT64 benchmark (not a test): in the lab topology, the same client and
# server, one run, the data planes in turn within each round (the order
# rotates from round to round):
#   kernel      plain IPv6 forwarding: the ceiling
#   tayga       Debian tayga, dynamic pool + nftables masquerade
#   on1, on2    sixfourd with [nat64] offload = auto, 1 and 2 workers
#   off1, off2  sixfourd with offload = off (a read and a write per packet)
# Figures: iperf3 TCP 1 and 4 streams, 64-octet UDP packets/s (with loss),
# new TCP connections/s, and sixfourd's memory per session with 1 M
# sessions. Each figure is the median of RUNS rounds; ratios are the
# medians of the per-round ratios against kernel forwarding and tayga.
# PERF=1: then on2 once more under `perf record -a -g` for each figure, and
# where the CPU went (by command, then by symbol).
# Then the cost of usage accounting and of the bandwidth limiters (issue
# 12): sixfourd three ways in each round, after 100,000 distinct client
# prefixes went through it (so they sit in the Space-Saving summaries):
#   noacct   [stats] top-prefixes = 0 (no accounting, no limits)
#   acct     top-prefixes = 131072 (the 100,000 prefixes fit), no limits
#   limits   acct + [ratelimit] bandwidth and client-bandwidth set far
#            above the traffic, so every packet goes through both limiters
#
#   sudo tests/bench/nat64_bench.sh        (RUNS=3 SECS=5 by default)
#   MODES="kernel on2" ...                 (some of the data planes)
#   PART=main | usage | memory ...         (only that part)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/bench/lib.sh"
RUNS=${RUNS:-3}
MODES=${MODES:-kernel tayga on1 on2 off1 off2}
PART=${PART:-all}	# main, usage, memory: only that part
SECS=${SECS:-5}
bench_setup iperf3 tayga nft cc
PREFIX=2001:db8:64::
POOL_DYN=192.168.255.0/24	# tayga's dynamic pool, masqueraded
FLOOD=$LAB_DIR/nat64_flood
cc -O2 -pthread -o "$FLOOD" "$top_srcdir/tests/bench/nat64_flood.c" || exit 1

# The server answers sixfourd's dedicated pool through the appliance, and
# gets an IPv6 address for the kernel-forwarding ceiling.
lab_in server ip route add 192.88.99.64/30 via "$LAB_APPL4"
lab_in server sysctl -qw "net.ipv6.conf.$LAB_IF_SERVER.disable_ipv6=0" net.ipv6.conf.all.disable_ipv6=0
lab_in appl sysctl -qw "net.ipv6.conf.$LAB_IF_APPL4.disable_ipv6=0"
lab_in appl ip addr add 2001:db8:2::1/64 dev "$LAB_IF_APPL4" nodad
lab_in server ip addr add 2001:db8:2::80/64 dev "$LAB_IF_SERVER" nodad
lab_in server ip -6 route add default via 2001:db8:2::1
lab_bg server iperf3 iperf3 -s -p 5201
lab_bg server accept "$FLOOD" accept :: 9000 2
lab_wait 10 lab_in server sh -c "ss -ltn | grep -q ':9000 '"
lab_wait 10 lab_in server sh -c "ss -ltn | grep -q ':5201 '"

declare -A R	# R[mode.metric] = "v1 v2 v3"
iperf_json() { lab_in client iperf3 -c "$1" -p 5201 -t "$SECS" -J "${@:2}" 2>/dev/null; }
tcp_bps() {
	iperf_json "$@" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))' 2>/dev/null || echo 0
}
udp_pps() { # received packets/s and loss %
	iperf_json "$1" -u -l 64 -b 0 | python3 -c '
import json,sys
d = json.load(sys.stdin)["end"]["sum"]
print(int((d["packets"] - d["lost_packets"]) / d["seconds"]), round(d["lost_percent"], 1))' 2>/dev/null || echo "0 100"
}

measure_once() { # measure_once MODE TARGET6: one round of every figure
	local mode=$1 dst=$2 v
	R[$mode.tcp1]+="$(tcp_bps "$dst") "
	R[$mode.tcp4]+="$(tcp_bps "$dst" -P 4) "
	v=$(udp_pps "$dst")
	R[$mode.udp]+="${v% *} "
	R[$mode.loss]+="${v#* } "
	R[$mode.conn]+="$(lab_in client "$FLOOD" conn "$dst" 9000 "$SECS" 4) "
}

bench_ini() { # bench_ini WORKERS OFFLOAD
	cat <<INI
[general]
workers = $1
log-level = notice
[dns64]
enable = no
[prefix bench]
prefix = ${PREFIX}/96
translate = yes
[nat64]
pool4 = 192.88.99.64/30
max-sessions = 262144
max-sessions-per-client = 262144
# One client opens every connection: its RFC 6888 port share (1024) would
# make connects wait for SYN retransmits (1 s) once it is used up.
pool4-ports-per-client = 64512
offload = $2
INI
}
bench_ini 2 auto >"$LAB_DIR/bench.ini"
. "$top_srcdir/tests/bench/tayga.sh"

# --- the cost of usage accounting and of the limiters ---
usage_ini() { # usage_ini MODE: bench.ini plus what MODE sets
	cp "$LAB_DIR/bench.ini" "$LAB_DIR/usage-$1.ini"
	{
		printf '[stats]\nclient-prefix-len = 56\ntop-prefixes = %s\n' \
			"$([ "$1" = noacct ] && echo 0 || echo 131072)"
		printf 'usage-log = %s\n' "$LAB_DIR/usage-$1.log"
		[ "$1" = limits ] && printf '[ratelimit]\nbandwidth = 1T\nclient-bandwidth = 1T\n'
	} >>"$LAB_DIR/usage-$1.ini"
}
tracked() { lab_ctl --json usage --period day --top 0 | python3 -c 'import json,sys; print(json.load(sys.stdin).get("tracked", {}).get("clients", 0))'; }
# sixfourd's CPU time (all threads, clock ticks) and the packets it wrote:
# CPU per translated packet is the cost figure that the noise of a shared
# machine disturbs least (throughput is capped by the sender as well).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$LAB_SIXFOURD_PID/stat"; }
xlated() { lab_ctl --json nat64 stats | python3 -c 'import json,sys; p=json.load(sys.stdin)["packets"]; print(p["tx4"] + p["tx6"])'; }
usage_bench() {
	local round mode i k c0 p0 modes=(noacct acct limits)
	for mode in noacct acct limits; do usage_ini $mode; done
	for round in $(seq "$RUNS"); do
		for i in 0 1 2; do
			mode=${modes[$(( (i + round) % 3 ))]}	# the order rotates
			lab_sixfourd_start "$LAB_DIR/usage-$mode.ini" || exit 1
			# 100,000 client /56s through the translator first (every
			# mode alike: the session table holds them too). On a busy
			# machine the TUN drops some: the flood repeats until every
			# prefix has its session.
			for k in 1 2 3 4 5; do
				lab_in client "$FLOOD" prefixes "${PREFIX}$LAB_SERVER4" 100000 50000 >/dev/null
				lab_wait 5 sh -c "[ \$(nsenter -t $LAB_SIXFOURD_PID -m -n $top_builddir/sixfourctl --json nat64 stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"sessions\"][\"count\"])') -ge 100000 ]" && break
			done
			[ $mode = noacct ] || lab_wait 20 sh -c "[ \$(nsenter -t $LAB_SIXFOURD_PID -m -n $top_builddir/sixfourctl --json usage --period day --top 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"tracked\"][\"clients\"])') -ge 100000 ]"
			[ $mode = noacct ] || R[$mode.prefixes]+="$(tracked) "
			c0=$(cpu_ticks) p0=$(xlated)
			measure_once "$mode" "${PREFIX}$LAB_SERVER4"
			R[$mode.cpu]+="$(python3 -c "print(round(($(cpu_ticks) - $c0) * 1e9 / $(getconf CLK_TCK) / max($(xlated) - $p0, 1), 1))") "
			lab_sixfourd_stop
		done
	done
	echo "# usage: noacct tcp1 ${R[noacct.tcp1]}| udp ${R[noacct.udp]}| cpu ${R[noacct.cpu]}; acct tcp1 ${R[acct.tcp1]}| udp ${R[acct.udp]}| cpu ${R[acct.cpu]}; limits tcp1 ${R[limits.tcp1]}| udp ${R[limits.udp]}| cpu ${R[limits.cpu]}; prefixes tracked ${R[acct.prefixes]}" >&2
	python3 -c "
import statistics, sys
r = [[float(x) for x in a.split()] for a in sys.argv[1:]]
print('sixfourd CPU per translated packet (ns, all threads): noacct %.0f, acct %.0f, limits %.0f;'
      ' per-round ratios acct/no %.3f, limits/no %.3f' % tuple(
      [statistics.median(x) for x in r] +
      [statistics.median([a / b for a, b in zip(x, r[0])]) for x in r[1:]]))" \
		"${R[noacct.cpu]}" "${R[acct.cpu]}" "${R[limits.cpu]}"
}

run_mode() { # run_mode MODE ROUND: start it, measure one round, stop it
	case $1 in
	kernel) measure_once kernel 2001:db8:2::80 ;;
	tayga) tayga_start; measure_once tayga "${PREFIX}$LAB_SERVER4"; tayga_stop ;;
	on[0-9]|off[0-9])
		local o=auto
		[ "${1#off}" != "$1" ] && o=off
		bench_ini "${1##*[a-z]}" $o >"$LAB_DIR/mode.ini"
		lab_sixfourd_start "$LAB_DIR/mode.ini" || exit 1
		measure_once "$1" "${PREFIX}$LAB_SERVER4"
		lab_ctl --json nat64 stats >"$LAB_DIR/stats-$1-$2.json"
		lab_sixfourd_stop ;;
	esac
}
read -ra modes <<<"$MODES"
main_bench() {
	local round i
	echo "load before: $(uptime)"
	for round in $(seq "$RUNS"); do
		for i in "${!modes[@]}"; do
			run_mode "${modes[$(( (i + round - 1) % ${#modes[@]} ))]}" "$round"
		done
		echo "# round $round done: $(uptime)" >&2
	done
	echo "load after: $(uptime)"
	for mode in "${modes[@]}"; do
		echo "# $mode: tcp1 ${R[$mode.tcp1]}| tcp4 ${R[$mode.tcp4]}| udp ${R[$mode.udp]}| loss ${R[$mode.loss]}| conn ${R[$mode.conn]}" >&2
	done
}

# Where the time goes: on2 under perf, each figure on its own. `perf record
# -a` sees the whole machine, other engineers' work too: the first report
# is the split by command of everything (the lab's iperf3 carries the
# sender's stack and the forwarding softirq it runs), the second only
# sixfourd's own samples, by symbol, in percent of sixfourd. Then the CPU
# each sixfourd thread used during the figure (utime+stime, /proc).
thread_ticks() { # thread_ticks PID: "TID TICKS" per thread
	local t
	for t in /proc/"$1"/task/*; do
		awk -v t="${t##*/}" '{print t, $14 + $15}' "$t/stat" 2>/dev/null
	done
}
perf_bench() {
	local k perf pid t0
	bench_ini 2 auto >"$LAB_DIR/mode.ini"
	lab_sixfourd_start "$LAB_DIR/mode.ini" || exit 1
	pid=$LAB_SIXFOURD_PID
	for k in tcp1 tcp4 udp; do
		thread_ticks "$pid" >"$LAB_DIR/ticks-$k.0"
		t0=$(date +%s.%N)
		perf record -a -g -o "$LAB_DIR/perf-$k.data" -- sleep $((SECS - 1)) >/dev/null 2>&1 &
		perf=$!
		case $k in
		tcp1) R[perf.$k]=$(tcp_bps "${PREFIX}$LAB_SERVER4") ;;
		tcp4) R[perf.$k]=$(tcp_bps "${PREFIX}$LAB_SERVER4" -P 4) ;;
		udp) R[perf.$k]=$(udp_pps "${PREFIX}$LAB_SERVER4") ;;
		esac
		thread_ticks "$pid" >"$LAB_DIR/ticks-$k.1"
		wait $perf
		echo "=== perf, $k (on2, ${R[perf.$k]} under perf): CPU of the machine by command"
		perf report -i "$LAB_DIR/perf-$k.data" --no-children --sort comm --stdio -g none \
			2>/dev/null | grep -v '^#' | grep -v '^$' | head -10
		echo "--- sixfourd alone, by symbol (percent of sixfourd)"
		perf report -i "$LAB_DIR/perf-$k.data" --no-children --comms sixfourd --percentage relative \
			--sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
		echo "--- sixfourd's threads: CPU during the figure (percent of one core)"
		join "$LAB_DIR/ticks-$k.0" "$LAB_DIR/ticks-$k.1" | awk -v hz="$(getconf CLK_TCK)" \
			-v secs="$(python3 -c "import time; print(time.time() - $t0)")" \
			'$3 > $2 { printf "  thread %s: %.0f %%\n", $1, ($3 - $2) / hz / secs * 100 }'
	done
	lab_sixfourd_stop
}

m() { median ${R[$1]}; }
# The median of the per-round ratios (both measured under the same load).
rratio() { python3 -c "
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
r = [x / y for x, y in zip(a, b) if y]
print('%.3f' % statistics.median(r) if r else 'n/a')" "$1" "$2"; }
[ "$PART" = all ] || [ "$PART" = main ] && main_bench
[ -n "${PERF:-}" ] && perf_bench
[ "$PART" = all ] || [ "$PART" = usage ] && {
usage_bench
printf '\n%-28s %12s %12s %12s %9s %9s\n' "median of $RUNS x ${SECS}s" noacct acct limits \
	"acct/no" "limits/no"
echo "(100,000 client /56s in the summaries; ratios: medians of the per-round ratios)"
for k in tcp1 tcp4 udp; do
	case $k in
	tcp1) name="TCP 1 stream (Mbit/s)"; f=1e-6 ;;
	tcp4) name="TCP 4 streams (Mbit/s)"; f=1e-6 ;;
	udp) name="UDP 64 B (packets/s)"; f=1 ;;
	esac
	printf '%-28s %12.0f %12.0f %12.0f %9s %9s\n' "$name" \
		"$(python3 -c "print($(m noacct.$k)*$f)")" "$(python3 -c "print($(m acct.$k)*$f)")" \
		"$(python3 -c "print($(m limits.$k)*$f)")" \
		"$(rratio "${R[acct.$k]}" "${R[noacct.$k]}")" "$(rratio "${R[limits.$k]}" "${R[noacct.$k]}")"
done
printf '%-28s %12s %12s %12s\n' "UDP 64 B loss (%)" "$(m noacct.loss)" "$(m acct.loss)" "$(m limits.loss)"
}

# --- memory per session at 1 M sessions ---
# Baseline: the same daemon with the smallest table.
if [ "$PART" = all ] || [ "$PART" = memory ]; then
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
sixfourd_pid() { echo "$LAB_SIXFOURD_PID"; }	# ip netns exec, unshare, sh exec it
sed -i 's/^max-sessions = .*/max-sessions = 16/; s/^max-sessions-per-client = .*/max-sessions-per-client = 16/' "$LAB_DIR/bench.ini"
lab_sixfourd_start "$LAB_DIR/bench.ini" || exit 1
rss0=$(rss_kb "$(sixfourd_pid)")
lab_sixfourd_stop
sed -i 's/^max-sessions = .*/max-sessions = 1048576/; s/^max-sessions-per-client = .*/max-sessions-per-client = 1048576/' "$LAB_DIR/bench.ini"
lab_sixfourd_start "$LAB_DIR/bench.ini" || exit 1
pid=$(sixfourd_pid)
sessions() { lab_ctl --json nat64 stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"]["count"])'; }
lab_in client "$FLOOD" flows 2001:db8:1:1:: "${PREFIX}$LAB_SERVER4" 9000 1050000 60000 >&2
lab_wait 30 sh -c "[ \$(nsenter -t $LAB_SIXFOURD_PID -m -n $top_builddir/sixfourctl --json nat64 stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"sessions\"][\"count\"])') -ge 1000000 ]"
nsess=$(sessions)
rss1=$(rss_kb "$pid")
tablemem=$(lab_ctl --json nat64 stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"]["memory"])')
lab_sixfourd_stop
ct_size=$(awk '$1 == "nf_conntrack" {print $4}' /proc/slabinfo 2>/dev/null)
fi

# --- report ---
if [ "$PART" = all ] || [ "$PART" = main ]; then
printf '\nmedian of %s rounds x %ss; ratios: medians of the per-round ratios\n' "$RUNS" "$SECS"
printf '%-24s' ""
for mode in "${modes[@]}"; do printf '%12s' "$mode"; done
echo
for k in tcp1 tcp4 udp loss conn; do
	case $k in
	tcp1) name="TCP 1 stream (Mbit/s)"; f=1e-6 ;;
	tcp4) name="TCP 4 streams (Mbit/s)"; f=1e-6 ;;
	udp) name="UDP 64 B (packets/s)"; f=1 ;;
	loss) name="UDP 64 B loss (%)"; f=1 ;;
	conn) name="new TCP conns/s"; f=1 ;;
	esac
	printf '%-24s' "$name"
	for mode in "${modes[@]}"; do
		printf '%12s' "$(python3 -c "print('%.1f' % ($(m $mode.$k) * $f) if '$k' == 'loss' else '%.0f' % ($(m $mode.$k) * $f))")"
	done
	echo
	[ $k = loss ] && continue
	for base in kernel tayga; do
		[ -n "${R[$base.$k]:-}" ] || continue
		printf '%-24s' "  x $base"
		for mode in "${modes[@]}"; do printf '%12s' "$(rratio "${R[$mode.$k]}" "${R[$base.$k]}")"; done
		echo
	done
done
fi
[ "$PART" = all ] || [ "$PART" = memory ] || exit 0
echo
echo "sixfourd RSS: $rss0 kB with a 16-entry table, $rss1 kB with $nsess sessions in a 1048576-entry table"
python3 -c "
n, r0, r1, tm = $nsess, $rss0, $rss1, $tablemem
print('memory per session: %.0f B (RSS difference / sessions); the table allocates %.0f B per entry' % ((r1 - r0) * 1024 / max(n, 1), tm / 1048576))"
[ -n "$ct_size" ] && echo "for comparison: one Linux conntrack entry (tayga + masquerade keeps one per flow) is $ct_size B"
exit 0
