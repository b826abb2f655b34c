#!/bin/bash
# The control socket never stalls the main loop: 32 control clients that
# connect and say nothing (and one that asks and never reads its reply)
# delay neither `sixfourctl status` nor a DNS query over TCP (answered on
# the main loop): the median of 7 tries by no more than 100 ms, the
# slowest try by no more than 500 ms; and they are closed after the
# control deadline (10 s). Before, each idle client blocked the loop for a
# second in recv(); 500 ms catches one such stall and leaves room for the
# scheduling delays of a loaded machine.
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
lab_begin 11 dig /usr/bin/python3
lab_dns_start
cat >"$LAB_DIR/ctl.ini" <<EOF
$(lab_ini_dns64)
$(lab_ini_disable health)
EOF
lab_sixfourd_start "$LAB_DIR/ctl.ini" || lab_bail "sixfourd did not start"
lab_in client dig +short +tcp @"$LAB_APPL6" www.example AAAA >/dev/null	# cached

# In ms over 7 tries each of `sixfourctl status` and a DNS query over TCP
# (both answered on the main loop), run side by side: the median (the
# baseline) and the slowest (a stall shows in one try).
cat >"$LAB_DIR/time.py" <<'EOF'
import statistics, subprocess, sys, time
def ms(cmd):
    t = []
    for _ in range(7):
        t0 = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        t.append((time.monotonic() - t0) * 1000)
        if r.returncode != 0 or not r.stdout.strip():
            return -1, -1
    return statistics.median(t), max(t)
import threading
ctl, ns = sys.argv[1], sys.argv[2:]
res = {}
# Side by side, so a stalled main loop shows in both.
jobs = {"status": ctl.split(),
        "dns": ns + ["dig", "+tcp", "+short", "+time=30", "+tries=1", "@2001:db8:1::1",
                     "www.example", "AAAA"]}
th = [threading.Thread(target=lambda k=k, c=c: res.__setitem__(k, ms(c))) for k, c in jobs.items()]
for t in th: t.start()
for t in th: t.join()
print("%.0f %.0f %.0f %.0f" % (res["status"] + res["dns"]))
EOF
measure() {
	/usr/bin/python3 "$LAB_DIR/time.py" \
		"nsenter -t $LAB_SIXFOURD_PID -m -n $(lab__bin sixfourctl) status" \
		ip netns exec "$LAB_NS_CLIENT"
}
read -r s0 _ d0 _ <<<"$(measure)"

# 32 idle control clients and one that asks for the counters and never
# reads, held open in sixfourd's namespaces.
cat >"$LAB_DIR/idle.py" <<'EOF'
import socket, struct, sys, time
path, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
# Connected without waiting: a server that does not accept at once
# leaves them in its backlog, and its next client (sixfourctl) behind them.
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.setblocking(False)
    try:
        s.connect(path)
        socks.append(s)
    except BlockingIOError:
        s.close()
greedy = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
greedy.setblocking(False)
try:
    greedy.connect(path)
    greedy.send(struct.pack("=HHHH", 1, 0, 2, 0) + b"dns\0stats\0")
except OSError:
    pass
print("connected %d" % len(socks), flush=True)
t0 = time.monotonic()
closed = 0
for s in socks:
    s.settimeout(max(0.1, secs - (time.monotonic() - t0)))
    try:
        if s.recv(1) == b"":
            closed += 1
    except socket.timeout:
        pass
    except OSError:
        closed += 1
print("closed %d after %.1f s" % (closed, time.monotonic() - t0), flush=True)
EOF
nsenter -t "$LAB_SIXFOURD_PID" -m -n /usr/bin/python3 "$LAB_DIR/idle.py" /run/sixfour/sixfourd.sock 32 14 \
	>"$LAB_DIR/idle.out" 2>&1 &
idle=$!
lab_wait 10 grep -q connected "$LAB_DIR/idle.out"
read -r sm1 s1 dm1 d1 <<<"$(measure)"
tap_like "32 control clients connect at once" "$(cat "$LAB_DIR/idle.out")" '^connected 32$'
tap_diag "status: median $s0 ms alone, $sm1 ms (slowest $s1 ms) with 33 control clients waiting;" \
	"TCP query: median $d0 ms alone, $dm1 ms (slowest $d1 ms) with them"
tap_ok "sixfourctl status answers with 32 idle control clients (slowest $s1 ms)" \
	test "${s1:--1}" -ge 0
tap_ok "... each try no more than 500 ms later than the median without them ($s0 ms)" \
	test "$((s1 - s0))" -le 500
tap_ok "... and its median no more than 100 ms later ($sm1 ms against $s0 ms)" \
	test "$((${sm1:-100000} - s0))" -le 100
tap_ok "a DNS query over TCP is answered meanwhile (slowest $d1 ms)" test "${d1:--1}" -ge 0
tap_ok "... each no more than 500 ms later than the median without them ($d0 ms)" \
	test "$((d1 - d0))" -le 500
tap_ok "... and its median no more than 100 ms later ($dm1 ms against $d0 ms)" \
	test "$((${dm1:-100000} - d0))" -le 100
tap_ok "a reload goes through meanwhile" lab_ctl reload
wait "$idle"
out=$(cat "$LAB_DIR/idle.out")
tap_diag "$out"
tap_like "the idle control clients are closed at the control deadline (10 s)" "$out" \
	'closed 32 after (9|1[0-3])\.'
tap_ok "sixfourd is still running" lab__alive "$LAB_SIXFOURD_PID"
lab_sixfourd_stop
tap_ok "sixfourd exits cleanly" test $? -eq 0
tap_done
