#!/bin/bash
# NAT64 handoff benchmark (not a test), in the lab topology, one run:
#  1. the cost of a LOOKUP: server -> client delivery time of a few octets
#     on a long-lived TCP connection, with the entry in the translator's
#     table (baseline) and right after `flush sessions` (the packet misses,
#     one LOOKUP round trip to sixfour-handoffd, install, translate);
#  2. the cost of the notices on the rate of new sessions: FLOWS new UDP
#     flows sent at FLOW_PPS (nat64_flood flows), sessions created per
#     second of the flood, handoff off and with a handoff session (every
#     entry noticed to the daemon and acked);
#  3. new TCP connections/s (nat64_flood conn, open + reset): handoff off,
#     handoff on toward a host without the daemon (probing: TEXT + HELLO,
#     50 datagrams/s), handoff on with the daemon running.
# Medians of RUNS runs (LOOKUPS samples for 1); ratios against "off".
#
#   sudo tests/bench/handoff_bench.sh       (RUNS=3 SECS=5 LOOKUPS=30)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build-handoff2}"
export top_srcdir top_builddir
. "$top_srcdir/tests/netns/lib.sh"
RUNS=${RUNS:-3}
SECS=${SECS:-5}
LOOKUPS=${LOOKUPS:-30}
lab_require cc nft
lab_setup
: >"$LAB_TRUST_ANCHOR"
PY=/usr/bin/python3
S6=64:ff9b::$LAB_SERVER4
HANDOFFD=$(lab__bin sixfour-handoffd) || exit 1
FLOOD=$LAB_DIR/nat64_flood
cc -O2 -pthread -o "$FLOOD" "$top_srcdir/tests/bench/nat64_flood.c" || exit 1
lab_in server ip route add 192.88.99.64/30 via "$LAB_APPL4"
lab_bg server accept "$FLOOD" accept 0.0.0.0 9000 2
lab_wait 10 lab_in server sh -c "ss -ltn | grep -q ':9000 '"

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
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
HPID=
handoffd_start() {
	rm -rf "$LAB_DIR/hstate"
	mkdir -p "$LAB_DIR/hstate"
	lab_bg server handoffd "$HANDOFFD" -d "$LAB_DIR/hstate" -l /dev/null -u nobody
	HPID=$LAB_LAST_PID
	lab_wait 10 lab__listening server udp 64646
}
handoffd_stop() {
	[ -n "$HPID" ] || return 0
	kill -TERM "$HPID" 2>/dev/null
	lab_wait 10 sh -c "! kill -0 $HPID 2>/dev/null"
	HPID=
}
established() {
	lab_ctl handoff --json | $PY -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if any(s["state"]=="established" for s in j["sessions"]) else 1)'
}

# --- 1. LOOKUP round trip ---
handoffd_start
lab_sixfourd_start "$(ini yes)" || exit 1
coproc CONNP { exec $PY "$top_srcdir/tests/netns/handoff_conn.py" "$LAB_NS_CLIENT" \
	"$LAB_NS_SERVER" "$LAB_SERVER4" "$S6" 7100; }
conn() { echo "$*" >&"${CONNP[1]}"; local l=; read -r -t 30 l <&"${CONNP[0]}"; echo "$l"; }
conn open >/dev/null
lab_wait 10 established || echo "# no handoff session" >&2
sleep 0.5	# the entry's ENTRY-ACK
base=() miss=()
for i in $(seq "$LOOKUPS"); do
	r=$(conn ts2c "b$i"); base+=("${r#ok }")
	lab_ctl flush sessions >/dev/null
	r=$(conn ts2c "m$i"); miss+=("${r#ok }")
done
echo "# delivery us, in table: ${base[*]}" >&2
echo "# delivery us, after flush (LOOKUP): ${miss[*]}" >&2
lookups=$(lab_ctl handoff --json | $PY -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print(t["LOOKUPS"], t["HITS"])')
conn quit >/dev/null
lab_sixfourd_stop

# --- 2. new sessions/s at a high rate: FLOWS new UDP flows (raw IPv6,
# nat64_flood flows) at FLOW_PPS; sessions the translator created per second
# of the flood, and the notices that went with them ---
FLOWS=${FLOWS:-200000} FLOW_PPS=${FLOW_PPS:-100000}
created() { lab_ctl nat64 stats | awk '$1 == "created" {print $2}'; }
declare -A F
# Modes alternate within each run, so drift (other load) hits both alike.
for r in $(seq "$RUNS"); do
	for mode in off session; do
		if [ $mode = off ]; then
			lab_sixfourd_start "$(ini no)" || exit 1
		else
			handoffd_start
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
		[ $mode = off ] || F[$mode.n]+="$(lab_ctl handoff --json | $PY -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print("%d/%d/%d/%d" % (t["NOTICES"], t["NOTICES_DROPPED"], t["DATAGRAMS"], t["QUEUE_FULL"]))') "
		lab_sixfourd_stop
		handoffd_stop
	done
done
for mode in off session; do
	echo "# flows $mode: sessions/s ${F[$mode]}${F[$mode.n]:+| notices/dropped/datagrams/queue-full ${F[$mode.n]}}" >&2
done

# --- 3. new connections/s ---
declare -A R
for r in $(seq "$RUNS"); do
	for mode in off probing session; do
		case $mode in
		off) lab_sixfourd_start "$(ini no)" || exit 1 ;;
		probing) lab_sixfourd_start "$(ini yes)" || exit 1 ;;
		session)
			handoffd_start
			lab_sixfourd_start "$(ini yes)" || exit 1
			lab_in client "$FLOOD" conn "$S6" 9000 1 1 >/dev/null
			lab_wait 10 established || echo "# no handoff session" >&2 ;;
		esac
		R[$mode]+="$(lab_in client "$FLOOD" conn "$S6" 9000 "$SECS" 4) "
		[ "$mode" = off ] || R[$mode.n]+="$(lab_ctl handoff --json | $PY -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print("%d/%d/%d/%d" % (t["NOTICES"], t["DATAGRAMS"], t["NOTICES_DROPPED"], t["QUEUE_FULL"]))') "
		R[$mode.s]+="$(lab_ctl nat64 stats | awk '$1 == "created" {print $2}') "
		lab_sixfourd_stop
		handoffd_stop
	done
done
for mode in off probing session; do
	echo "# $mode: conn/s ${R[$mode]}| sessions created ${R[$mode.s]}${R[$mode.n]:+| notices/datagrams/dropped/queue-full ${R[$mode.n]}}" >&2
done

echo "NAT64 handoff benchmark ($(nproc) CPUs, workers ${WORKERS:-2}, medians)"
b=$(median "${base[@]}") m=$(median "${miss[@]}")
printf '%-44s %10s us\n' "server->client delivery, entry in table" "$b"
printf '%-44s %10s us   (+%s us; lookups/hits %s)\n' "server->client delivery after flush (LOOKUP)" \
	"$m" "$(awk -v a="$m" -v b="$b" 'BEGIN {print a - b}')" "$lookups"
fo=$(median ${F[off]})
for mode in off session; do
	v=$(median ${F[$mode]})
	printf '%-44s %10s /s  %s\n' "new UDP sessions ($FLOWS flows), handoff $mode" "$v" \
		"$(awk -v a="$v" -v b="$fo" 'BEGIN {printf "%.2fx of off", (b ? a / b : 0)}')"
done
off=$(median ${R[off]})
for mode in off probing session; do
	v=$(median ${R[$mode]})
	printf '%-44s %10s /s  %s\n' "new TCP connections, handoff $mode" "$v" \
		"$(awk -v a="$v" -v b="$off" 'BEGIN {printf "%.2fx of off", (b ? a / b : 0)}')"
done
