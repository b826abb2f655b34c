#!/bin/bash
# DNS64 benchmark (not a test): dnsperf against sixfourd and against Unbound
# with its dns64 module, in the same lab run, through the same nsd
# hierarchy, both with DNSSEC validation and the same number of threads
# (THREADS, default one per CPU: sixfourd's [general] workers, Unbound's
# num-threads; both spread clients with SO_REUSEPORT).
#   cache hits: a fixed set of A-only names, caches warmed first
#   cold misses: unique A-only names nobody has asked for yet
# Prints the median of RUNS runs for each and the ratio sixfourd/Unbound,
# and the server CPU time per answered cache hit: on a 2-core machine
# dnsperf shares the CPU with the server, so QPS is partly the client's
# limit, while CPU per query is the server's own cost.
# sixfourd runs with its default rate limits on, the bench client
# (127.0.0.1: the lab's Unbound listens on IPv4 only) exempt as an arranged
# partner (dns-partner = 127.0.0.1/32 0).
# Then the cost per cache hit of the rate limiter and of DNS Cookies:
# server CPU per query with the limiter off, with it on (the client
# counted at /24 and /16, limits too high to bite), and with cookies
# (a valid server cookie echoed; a client cookie alone, so each reply
# gets a fresh server cookie), alternating, medians of COST_RUNS.
# Usage: tests/bench/dns64_bench.sh [RUNS] [SECONDS] (as root)
# Environment: THREADS, CLIENT_THREADS (dnsperf -T), CLIENTS (dnsperf -c:
# source ports, which SO_REUSEPORT hashes onto the server's threads),
# COST_RUNS (default RUNS; 0 skips the cost part).
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
lab_require_root
lab_require dnsperf unbound

RUNS=${1:-5}
SECS=${2:-8}
COLD=${COLD:-8000}	# unique names per cold run (short runs are noisy)
HOT=200			# names in the cache-hit set
NAMES=$((HOT + COLD * RUNS * 2))
UB_PORT=5353
CLIENT_THREADS=${CLIENT_THREADS:-1}	# dnsperf threads
CLIENTS=${CLIENTS:-16}			# dnsperf sockets
THREADS=${THREADS:-$(nproc)}		# server threads, both sides

lab_setup
{
	for i in $(seq 1 "$NAMES"); do
		echo "h$i A 192.88.99.$((i % 200 + 20))"
	done
} >"$LAB_DIR/bench.zone"
lab_zone bench. "$LAB_DIR/bench.zone" unsigned
lab_dns_start

bench_ini() { # bench_ini [RATELIMIT LINE...]
	cat <<EOF
[general]
log-level = notice
workers = $THREADS
[dns64]
listen = [::]:53, 127.0.0.1:53
root-hints = $LAB_ROOT_HINTS
unbound-option = do-ip6: no
[health]
enable = no
[ratelimit]
EOF
	printf '%s\n' "$@"
}
bench_ini "dns-partner = 127.0.0.1/32 0" >"$LAB_DIR/bench.ini"
bench_ini "dns-qps = 0" "dns-enclosing-qps = 0" "dns-cookie-qps = 0" >"$LAB_DIR/cost-off.ini"
bench_ini "dns-qps = 1000000" "dns-burst = 1000000" "ipv4-enclosing-prefix-len = 16" \
	"dns-enclosing-qps = 1000000" \
	"dns-enclosing-burst = 1000000" "dns-cookie-qps = 1000000" "dns-cookie-burst = 1000000" \
	>"$LAB_DIR/cost-on.ini"
lab_sixfourd_start "$LAB_DIR/bench.ini" || lab__bail "sixfourd did not start"
lab_unbound_start "$UB_PORT" 'module-config: "dns64 validator iterator"' \
	'dns64-prefix: 64:ff9b::/96' 'verbosity: 0' 'val-log-level: 0' \
	"num-threads: $THREADS" 'so-reuseport: yes'

# One query file per purpose.
for i in $(seq 1 "$HOT"); do echo "h$i.bench AAAA"; done >"$LAB_DIR/hot.txt"
cold_file() { # cold_file INDEX -> a file of names no run has used
	local f=$LAB_DIR/cold-$1.txt first=$((HOT + $1 * COLD + 1))
	seq "$first" $((first + COLD - 1)) | sed 's/^/h/; s/$/.bench AAAA/' >"$f"
	echo "$f"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

perf() { # perf PORT ARGS... -> "QPS LATENCY_MS US_CPU_PER_QUERY"
	local port=$1 pid=$LAB_SIXFOURD_PID c0 c1
	shift
	[ "$port" = 53 ] || pid=$LAB_UNBOUND_PID
	c0=$(cpu_ticks "$pid")
	lab_in appl dnsperf -s 127.0.0.1 -p "$port" -c "$CLIENTS" -T "$CLIENT_THREADS" -q 200 -t 5 "$@" >"$LAB_DIR/perf.out" 2>&1
	c1=$(cpu_ticks "$pid")
	awk -v t=$((c1 - c0)) -v hz="$TICK" '/Queries completed/ { n = $3 }
		/Queries per second/ { q = $4 } /Average Latency/ { l = $4 * 1000 }
		END { printf "%.0f %.3f %.2f\n", q, l, n ? t * 1e6 / hz / n : 0 }' "$LAB_DIR/perf.out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Warm both caches with the hot set (and check both synthesize).
perf 53 -d "$LAB_DIR/hot.txt" -n 2 >/dev/null
perf "$UB_PORT" -d "$LAB_DIR/hot.txt" -n 2 >/dev/null
s=$(lab_in appl dig +short @127.0.0.1 h1.bench AAAA)
u=$(lab_in appl dig +short @127.0.0.1 -p "$UB_PORT" h1.bench AAAA)
echo "# h1.bench AAAA: sixfourd $s, unbound $u"
[ -n "$s" ] && [ "$s" = "$u" ] || lab__bail "the two resolvers disagree"

declare -a hs_q hs_l hs_c hu_q hu_l hu_c cs_q cs_l cs_c cu_q cu_l cu_c
idx=0
for r in $(seq 1 "$RUNS"); do
	# Alternate who goes first so drift does not favour one side.
	if [ $((r % 2)) -eq 1 ]; then order="s u"; else order="u s"; fi
	for who in $order; do
		port=53
		[ "$who" = u ] && port=$UB_PORT
		read -r hq hl hc <<<"$(perf "$port" -d "$LAB_DIR/hot.txt" -l "$SECS")"
		eval "h${who}_q+=($hq); h${who}_l+=($hl); h${who}_c+=($hc)"
		f=$(cold_file $idx)
		idx=$((idx + 1))
		read -r cq cl cc <<<"$(perf "$port" -d "$f" -n 1)"
		eval "c${who}_q+=($cq); c${who}_l+=($cl); c${who}_c+=($cc)"
		echo "# run $r $who: hit $hq qps ($hl ms, $hc us CPU/q), cold $cq qps ($cl ms, $cc us CPU/q)"
	done
done

m() { printf '%s\n' "$@" | median; }
hsq=$(m "${hs_q[@]}") huq=$(m "${hu_q[@]}") hsl=$(m "${hs_l[@]}") hul=$(m "${hu_l[@]}")
hsc=$(m "${hs_c[@]}") huc=$(m "${hu_c[@]}")
csq=$(m "${cs_q[@]}") cuq=$(m "${cu_q[@]}") csl=$(m "${cs_l[@]}") cul=$(m "${cu_l[@]}")
csc=$(m "${cs_c[@]}") cuc=$(m "${cu_c[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
echo "DNS64 benchmark: medians of $RUNS runs, dnsperf -T $CLIENT_THREADS -c $CLIENTS -q 200, $THREADS server threads each"
printf '%-12s %12s %12s %8s\n' "" sixfourd unbound ratio
printf '%-12s %12s %12s %8s\n' "hit QPS" "$hsq" "$huq" "$(ratio "$hsq" "$huq")"
printf '%-12s %12s %12s %8s\n' "hit lat ms" "$hsl" "$hul" "$(ratio "$hsl" "$hul")"
printf '%-12s %12s %12s %8s\n' "hit us CPU/q" "$hsc" "$huc" "$(ratio "$hsc" "$huc")"
printf '%-12s %12s %12s %8s\n' "cold QPS" "$csq" "$cuq" "$(ratio "$csq" "$cuq")"
printf '%-12s %12s %12s %8s\n' "cold lat ms" "$csl" "$cul" "$(ratio "$csl" "$cul")"
printf '%-12s %12s %12s %8s\n' "cold us CPU/q" "$csc" "$cuc" "$(ratio "$csc" "$cuc")"

# --- the cost of the limiter and of cookies, per cache hit ---
COST_RUNS=${COST_RUNS:-$RUNS}
[ "$COST_RUNS" -gt 0 ] || { lab_sixfourd_stop; exit 0; }
mode_ini() { case $1 in off|cookie|client) echo "$LAB_DIR/cost-off.ini" ;; on) echo "$LAB_DIR/cost-on.ini" ;; esac; }
# A valid server cookie for 127.0.0.1 (valid an hour, echoed for half of it).
lab_sixfourd_config "$LAB_DIR/cost-off.ini"
lab_ctl reload >/dev/null
valid=$(lab_in appl dig +cookie @127.0.0.1 h1.bench AAAA | sed -n 's/^; COOKIE: \([0-9a-f]*\).*/\1/p')
[ ${#valid} -eq 48 ] || lab__bail "no server cookie from sixfourd ($valid)"
declare -A cq cc
for r in $(seq 1 "$COST_RUNS"); do
	modes="off on cookie client"
	[ $((r % 2)) -eq 0 ] && modes="client cookie on off"
	for m in $modes; do
		lab_sixfourd_config "$(mode_ini "$m")"
		lab_ctl reload >/dev/null	# flushes the cache: warm it again
		opt=()
		[ "$m" = cookie ] && opt=(-E "10:$valid")
		[ "$m" = client ] && opt=(-E "10:0102030405060708")
		perf 53 -d "$LAB_DIR/hot.txt" -n 2 "${opt[@]}" >/dev/null
		read -r q _ c <<<"$(perf 53 -d "$LAB_DIR/hot.txt" -l "$SECS" "${opt[@]}")"
		cq[$m]+="$q " cc[$m]+="$c "
		echo "# cost run $r $m: $q qps, $c us CPU/q"
	done
done
stats=$(lab_ctl dns stats)
echo "# cookies seen: $(awk '$1 ~ /^cookie_/ { printf "%s %s ", $1, $2 }' <<<"$stats")"
echo "Cost per cache hit: medians of $COST_RUNS runs each, server CPU per query"
off=$(m ${cc[off]})
printf '%-34s %10s %10s %12s\n' "" "QPS" "us CPU/q" "vs off (ns)"
for k in off on cookie client; do
	case $k in
	off) what="limiter off, no cookie" ;;
	on) what="limiter on (/24 and /16 counted)" ;;
	cookie) what="valid server cookie (echoed)" ;;
	client) what="client cookie alone (fresh one)" ;;
	esac
	c=$(m ${cc[$k]})
	printf '%-34s %10s %10s %12s\n' "$what" "$(m ${cq[$k]})" "$c" \
		"$(awk -v a="$c" -v b="$off" 'BEGIN { printf "%+.0f", (a - b) * 1000 }')"
done
lab_sixfourd_stop
