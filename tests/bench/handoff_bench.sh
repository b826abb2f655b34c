#!/bin/bash
# NAT64 handoff benchmark (not a test), in the lab topology, one run:
#  1. recovery time: the delivery time of a few octets on a long-lived TCP
#     connection to a host running sixfour-handoffd, from the first send to
#     the arrival at the other end, client first and server first: with the
#     entry in the translator's table (the baseline), right after `flush
#     sessions` (one LOOKUP or LOOKUP-CLIENT round trip), and right after a
#     restart of sixfourd (the session resumed from the state directory);
#  2. the cost of the notices on the rate of new sessions: FLOWS new UDP
#     flows at FLOW_PPS, sessions created per second, handoff off and on;
#  3. new TCP connections/s toward the handoff server (nat64_flood conn,
#     open + reset): handoff off; on, toward a host without the daemon
#     (probing); on with the daemon (every port from the server's hints);
#     and in the SECS right after a restart of sixfourd (the first new
#     connections wait one round trip for hints: doc/handoff-profile.md P-7).
# Medians of RUNS runs (SAMPLES samples for 1); ratios against "off" or the
# baseline; modes alternate within each run. SECTIONS picks some (say 3);
# top_builddir=DIR runs the programs of another build (A/B in alternation).
#
#   sudo tests/bench/handoff_bench.sh     (RUNS=3 SECS=5 SAMPLES=15 WORKERS=2 SECTIONS=123)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/bench/lib.sh"
. "$top_srcdir/tests/netns/handoff_lib.sh"
RUNS=${RUNS:-3}
SECS=${SECS:-5}
SAMPLES=${SAMPLES:-15}
SECTIONS=${SECTIONS:-123}
want() { [[ $SECTIONS == *$1* ]]; }
bench_setup cc nft
handoff_lab_vars
HSTATE=$LAB_DIR/hstate HLOG=/dev/null
FLOOD=$LAB_DIR/nat64_flood
cc -O2 -pthread -o "$FLOOD" "$top_srcdir/tests/bench/nat64_flood.c" || exit 1
lab_in server ip route add 192.88.99.64/30 via "$LAB_APPL4"
lab_bg server accept "$FLOOD" accept 0.0.0.0 9000 2
lab_wait 10 lab_in server sh -c "ss -ltn | grep -q ':9000 '"

ini() { # ini ENABLE
	cat >"$LAB_DIR/bench.ini" <<EOF
[general]
workers = ${WORKERS:-2}
log-level = notice
[dns64]
enable = no
[nat64]
pool4 = 192.88.99.64/30
max-sessions = 1048576
max-sessions-per-client = 1048576
[handoff]
enable = $1
EOF
	echo "$LAB_DIR/bench.ini"
}
bench_handoffd_start() {
	rm -rf "$HSTATE" "$LAB_DIR/state"/*
	mkdir -p "$HSTATE"
	handoffd_start
}
bench_handoffd_stop() { [ -n "${HANDOFFD_PID:-}" ] && handoffd_stop; HANDOFFD_PID=; }
established() {
	lab_ctl handoff --json | $PY -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if any(s["state"]=="established" for s in j["sessions"]) else 1)'
}
us() { local r=$1; [ "${r%% *}" = ok ] && echo "${r#ok }"; }

# --- 1. recovery time ---
declare -A D
if want 1; then
bench_handoffd_start
lab_sixfourd_start "$(ini yes)" || exit 1
coproc CONNP { exec $PY "$CONN" "$LAB_NS_CLIENT" "$LAB_NS_SERVER" "$S4" "$S6" 7100; }
conn open >/dev/null
lab_wait 10 established || echo "# no handoff session" >&2
acked() { lab_ctl nat64 sessions --json | grep -q '"state": *"acked"'; }
lab_wait 10 acked
for i in $(seq "$SAMPLES"); do
	for who in s2c c2s; do
		D[base.$who]+="$(us "$(conn t$who "b$who$i")") "
		lab_ctl flush sessions >/dev/null
		D[flush.$who]+="$(us "$(conn t$who "f$who$i")") "
	done
done
lookups=$(lab_ctl handoff --json | $PY -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print(t["LOOKUPS"] + t["CLIENT_LOOKUPS"], t["HITS"])')
for i in $(seq "$RUNS"); do
	for who in s2c c2s; do
		lab_wait 10 acked
		lab_sixfourd_stop
		lab_sixfourd_start "$(ini yes)" || exit 1
		D[restart.$who]+="$(us "$(conn t$who "r$who$i" 10)") "
	done
done
for k in "${!D[@]}"; do echo "# delivery us, $k: ${D[$k]}" >&2; done
conn quit >/dev/null
lab_sixfourd_stop
bench_handoffd_stop
fi

# --- 2. new sessions/s at a high rate ---
FLOWS=${FLOWS:-200000} FLOW_PPS=${FLOW_PPS:-100000}
created() { lab_ctl nat64 stats --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["session_events"]["created"])'; }
declare -A F
want 2 && for r in $(seq "$RUNS"); do
	for mode in off session; do
		if [ $mode = off ]; then
			lab_sixfourd_start "$(ini no)" || exit 1
		else
			bench_handoffd_start
			lab_sixfourd_start "$(ini yes)" || exit 1
			lab_in client "$FLOOD" conn "$S6" 9000 1 1 >/dev/null
			lab_wait 10 established || echo "# no handoff session" >&2
		fi
		c0=$(created)
		t0=$(date +%s.%N)
		lab_in client "$FLOOD" flows 2001:db8:1:1:: "$S6" 9000 "$FLOWS" "$FLOW_PPS" >/dev/null 2>&1
		t1=$(date +%s.%N)
		c1=$(created)
		F[$mode]+="$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%d", (b - a) / (t1 - t0)}') "
		lab_sixfourd_stop
		bench_handoffd_stop
	done
done
want 2 && for mode in off session; do echo "# flows $mode: sessions/s ${F[$mode]}" >&2; done

# --- 3. new connections/s, and right after a restart ---
declare -A R
want 3 && for r in $(seq "$RUNS"); do
	for mode in off probing session restart; do
		case $mode in
		off) lab_sixfourd_start "$(ini no)" || exit 1 ;;
		probing)
			rm -rf "$LAB_DIR/state"/*	# no session to resume: a host without the daemon
			lab_sixfourd_start "$(ini yes)" || exit 1 ;;
		session | restart)
			bench_handoffd_start
			lab_sixfourd_start "$(ini yes)" || exit 1
			lab_in client "$FLOOD" conn "$S6" 9000 1 1 >/dev/null
			lab_wait 10 established || echo "# no handoff session" >&2
			if [ $mode = restart ]; then
				# Saved and resumed: no hint is known when the load starts.
				lab_sixfourd_stop
				lab_sixfourd_start "$(ini yes)" || exit 1
			fi ;;
		esac
		R[$mode]+="$(lab_in client "$FLOOD" conn "$S6" 9000 "$SECS" 4) "
		[ "$mode" = off ] || R[$mode.n]+="$(lab_ctl handoff --json | $PY -c 'import json,sys; j=json.load(sys.stdin); t=j["totals"]; print("%d/%d/%d" % (t["HELD_FOR_HINTS"], j["ports"]["HINTS_TAKEN"], t["HINTS"]))') "
		lab_sixfourd_stop
		bench_handoffd_stop
	done
done
want 3 && for mode in off probing session restart; do
	echo "# $mode: conn/s ${R[$mode]}${R[$mode.n]:+| held-for-hints/hints-taken/hints ${R[$mode.n]}}" >&2
done

echo "NAT64 handoff benchmark ($(nproc) CPUs, workers ${WORKERS:-2}, medians of $SAMPLES/$RUNS, $top_builddir)"
want 1 && for who in s2c c2s; do
	name=$([ $who = s2c ] && echo "server first" || echo "client first")
	b=$(median ${D[base.$who]})
	printf '%-46s %10s us\n' "delivery, entry in table, $name" "$b"
	for k in flush restart; do
		v=$(median ${D[$k.$who]})
		printf '%-46s %10s us  (+%s us)\n' "delivery after $k, $name" "$v" \
			"$(awk -v a="$v" -v b="$b" 'BEGIN {print a - b}')"
	done
done
want 1 && printf '%-46s %s\n' "lookups sent / found (flush samples)" "$lookups"
want 2 && fo=$(median ${F[off]})
want 2 && for mode in off session; do
	v=$(median ${F[$mode]})
	printf '%-46s %10s /s  %s\n' "new UDP sessions ($FLOWS flows), handoff $mode" "$v" \
		"$(awk -v a="$v" -v b="$fo" 'BEGIN {printf "%.2fx of off", (b ? a / b : 0)}')"
done
want 3 && off=$(median ${R[off]})
want 3 && for mode in off probing session restart; do
	v=$(median ${R[$mode]})
	printf '%-46s %10s /s  %s\n' "new TCP connections, handoff $mode" "$v" \
		"$(awk -v a="$v" -v b="$off" 'BEGIN {printf "%.2fx of off", (b ? a / b : 0)}')"
done
exit 0
