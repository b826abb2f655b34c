#!/bin/bash
# DNS64 worker threads end to end: sixfourd with [general] workers = 2.
# Queries from many source ports reach both workers (SO_REUSEPORT), every
# one is answered, and the counters of all workers add up in `sixfourctl
# dns stats` and in the metrics; a query loop running through several
# SIGHUP reloads (each flushes the cache, so misses go to the resolver
# thread while the policy is swapped under the workers) loses nothing.
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
lab_require_root
lab_require /usr/bin/python3
tap_plan 22

lab_setup
recs=()
for i in $(seq 1 40); do
	recs+=("w$i A 192.88.99.$((i + 100))")
done
lab_records example. "${recs[@]}"
lab_dns_start

ini() { # ini EXCLUDE: the test's config; reloads toggle the exclude list
	cat <<EOF
[general]
workers = 2
[dns64]
root-hints = $LAB_ROOT_HINTS
exclude = $1
unbound-option = do-ip6: no
[ratelimit]
; the load generator is an arranged partner: no limit
dns-partner = 2001:db8:1::/64 0
[health]
enable = no
EOF
}
ini "::ffff:0:0/96" >"$LAB_DIR/w.ini"
ini "::ffff:0:0/96, 2001:db8:dead::/48" >"$LAB_DIR/w2.ini"
lab_sixfourd_start "$LAB_DIR/w.ini" || { tap_ok "sixfourd starts" false; tap_done; exit 1; }

# The load generator: one new UDP socket (so a new source port) per query,
# THREADS at a time; each answer must be NOERROR with the expected AAAA.
# COUNT 0 runs until STOPFILE exists. Prints "sent N ok N bad N lost N".
mkdir -p "$LAB_DIR/py"	# not beside the lab's dns/ directory, which would shadow dnspython
cat >"$LAB_DIR/py/load.py" <<'EOF'
import os, sys, threading, time
import dns.exception, dns.message, dns.query, dns.rcode, dns.rdatatype
server, count, threads, stopfile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
names = [a.split('=') for a in sys.argv[5:]]
st = {'sent': 0, 'ok': 0, 'bad': 0, 'lost': 0}
lock = threading.Lock()
def run(tid):
    while True:
        with lock:
            if count and st['sent'] >= count:
                return
            if not count and os.path.exists(stopfile):
                return
            # Round robin over all names, whichever thread runs most.
            name, want = names[st['sent'] % len(names)]
            st['sent'] += 1
        q = dns.message.make_query(name, 'AAAA')
        try:
            r = dns.query.udp(q, server, timeout=3)
            got = [rd.address for rr in r.answer if rr.rdtype == dns.rdatatype.AAAA for rd in rr]
            key = 'ok' if r.rcode() == dns.rcode.NOERROR and want in got else 'bad'
        except dns.exception.Timeout:
            key = 'lost'
        except Exception:
            key = 'bad'
        with lock:
            st[key] += 1
ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
print('sent %(sent)d ok %(ok)d bad %(bad)d lost %(lost)d' % st)
EOF
targets=()
for i in $(seq 1 40); do
	targets+=("w$i.example=64:ff9b::c058:63$(printf '%02x' $((i + 100)))")
done
load() { lab_in client /usr/bin/python3 "$LAB_DIR/py/load.py" "$LAB_APPL6" "$@" "${targets[@]}"; }
# wstat N: UDP queries of worker N (the worker_queries_udp group of dns stats).
wstat() { lab_ctl dns stats | awk -v k="$1" '/^[a-z]/ { g = $1 } g == "worker_queries_udp:" && $1 == k { print $2 }'; }
stat_above() { [ "$(lab_dns_stat "$1")" -gt "$2" ]; }	# for lab_wait

# --- queries spread over the workers, all answered and counted ---
stats=$(lab_ctl dns stats)
tap_like "dns stats reports two workers" "$stats" '^ +workers +2$'
q0=$(lab_dns_stat queries_udp)
out=$(load 600 4 /nonexistent)
tap_is "600 queries from fresh source ports: all answered with the synthesized AAAA" \
	"$out" "sent 600 ok 600 bad 0 lost 0"
q1=$(lab_dns_stat queries_udp)
tap_is "queries_udp counts every one of them (summed over workers)" "$((q1 - q0))" 600
w0=$(wstat 0)
w1=$(wstat 1)
tap_ok "worker 0 answered some ($w0)" test "${w0:-0}" -gt 0
tap_ok "worker 1 answered some ($w1)" test "${w1:-0}" -gt 0
tap_is "the total is the sum of the workers' counts" "$q1" "$((w0 + w1))"
hits=$(lab_dns_stat cache_hits)
misses=$(lab_dns_stat cache_misses)
tap_ok "misses went to the resolver and came back as cache hits ($misses misses, $hits hits)" \
	test "${misses:-0}" -ge 40 -a "${hits:-0}" -ge 500
tap_is "every UDP query was either a hit or a miss" "$((hits + misses))" "$q1"
tap_ok "the cached answers were synthesized once each" test "$(lab_dns_stat synthesized)" -ge 40
metrics=$(lab_ctl metrics)
mq=$(awk '$1 == "sixfour_dns64_events_total{kind=\"queries_udp\"}" { print $2 }' <<<"$metrics")
mw=$(awk '/^sixfour_dns64_worker_queries_total\{/ { s += $2 } END { print s + 0 }' <<<"$metrics")
tap_is "metrics: queries_udp is the same total" "$mq" "$q1"
tap_is "metrics: per-worker counts add up to it" "$mw" "$q1"
nw=$(grep -c '^sixfour_dns64_worker_queries_total{' <<<"$metrics")
tap_is "metrics: one series per worker" "$nw" 2

# --- reloads while a query loop runs ---
reloads() { lab_ctl status | sed -n 's/.*(reloads: \([0-9]*\)).*/\1/p'; }
reloads_at_least() { [ "$(reloads)" -ge "$1" ]; }
rm -f "$LAB_DIR/stop"
lab_in client /usr/bin/python3 "$LAB_DIR/py/load.py" "$LAB_APPL6" 0 4 "$LAB_DIR/stop" "${targets[@]}" \
	>"$LAB_DIR/loop.out" 2>&1 &
loop=$!
q_start=$(lab_dns_stat queries_udp)
# Queries are flowing before the first reload.
lab_wait 10 stat_above queries_udp $((q_start + 200))
n0=$(reloads)
done_ok=0
for i in 1 2 3 4 5 6; do
	if [ $((i % 2)) -eq 1 ]; then lab_sixfourd_config "$LAB_DIR/w2.ini"; else lab_sixfourd_config "$LAB_DIR/w.ini"; fi
	before=$(lab_dns_stat queries_udp)
	kill -HUP "$LAB_SIXFOURD_PID"
	lab_wait 10 reloads_at_least $((n0 + i)) && done_ok=$((done_ok + 1))
	# Some queries between reloads, so each reload lands on a busy server.
	lab_wait 10 stat_above queries_udp $((before + 100))
done
tap_is "six SIGHUP reloads were applied while the loop ran" "$done_ok" 6
tap_is "... status counts exactly those reloads" "$(reloads)" "$((n0 + 6))"
tap_unlike "... (no reload error)" "$(lab_ctl status)" 'last reload failed'
touch "$LAB_DIR/stop"
wait "$loop"
out=$(cat "$LAB_DIR/loop.out")
read -r _ sent _ ok _ bad _ lost <<<"$out"
tap_ok "the loop sent a fair number of queries ($out)" test "${sent:-0}" -ge 600
tap_is "... every one answered correctly through the reloads (none lost, none wrong)" \
	"$ok/$bad/$lost" "$sent/0/0"
tap_is "the worker count did not change" "$(lab_dns_stat workers)" 2
stats=$(lab_ctl dns stats)
tap_like "no query failed for lack of memory or request slots" "$stats" '^ +drop_no_memory +0$'

# --- workers is a restart option ---
sed 's/^workers = 2/workers = 1/' "$LAB_DIR/w.ini" >"$LAB_DIR/w1.ini"
lab_sixfourd_config "$LAB_DIR/w1.ini"
out=$(lab_ctl reload 2>&1)
tap_like "a reload that changes workers is refused (needs a restart)" "$out" 'need a restart'
lab_sixfourd_config "$LAB_DIR/w.ini"
out=$(load 40 2 /nonexistent)
tap_is "... and the running workers still answer" "$out" "sent 40 ok 40 bad 0 lost 0"

lab_sixfourd_stop
tap_ok "sixfourd with workers exits cleanly on SIGTERM" test $? -eq 0
tap_done
