#!/bin/bash
# DNS64 over TCP against abusive clients (RFC 7766 on a public address):
# clients from 30 /56s of their own (addresses added to the client
# namespace) open hundreds of connections that
#  - come from one /56 beyond tcp-max-per-client: refused;
#  - send a query one octet a second (slowloris): closed at
#    tcp-query-deadline, however many octets keep coming;
#  - pipeline queries for a 2.4 KB answer and never read: not read from
#    once their output waits (back-pressure), closed when the output
#    budget is spent or their output has waited tcp-idle-timeout, with
#    sixfourd's RSS bounded by tcp-output-budget meanwhile;
#  - pipeline more queries than the rate limit allows: REFUSED beyond it;
# while a legitimate TCP client (another /56) is answered throughout.
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
lab_begin 17 dig /usr/bin/python3
lab_records_seq example. bigtxt TXT '"%0200d"' 1 12
lab_dns_start

# 30 client /56s inside 2001:db8:4900::/48, routed back to the client.
srcs=()
for i in $(seq 0 29); do
	a=$(printf '2001:db8:4900:%x00::1' "$i")
	srcs+=("$a")
	echo "addr add $a/128 dev $LAB_IF_CLIENT nodad"
done >"$LAB_DIR/srcs.batch"
lab__must ip -n "$LAB_NS_CLIENT" -batch "$LAB_DIR/srcs.batch"
lab__must ip -n "$LAB_NS_APPL" -6 route add 2001:db8:4900::/48 via "$LAB_CLIENT6"

ini() { # ini COOKIE_QPS
	cat <<EOF
$(lab_ini_dns64)
tcp-query-deadline = 2s
tcp-idle-timeout = 3s
tcp-max-connections = 600
tcp-max-per-client = 16
; A connection stops being read at 16 KiB of unsent output, so the budget
; is spent only while more than budget / 16 KiB of them hold that much at
; once: 1 MiB (64) makes sure it is, however fast a loaded machine opens
; the 480 (4 MiB needed 256 at once, and unread ones close at 3 s).
tcp-output-budget = 1M
[ratelimit]
dns-cookie-qps = $1
dns-cookie-burst = $1
$(lab_ini_disable health)
EOF
}
ini 100000 >"$LAB_DIR/tcp.ini"
ini 10 >"$LAB_DIR/tcp-limited.ini"
lab_sixfourd_start "$LAB_DIR/tcp.ini" || lab_bail "sixfourd did not start"

mkdir -p "$LAB_DIR/py"	# not beside the lab's dns/ directory, which would shadow dnspython
cat >"$LAB_DIR/py/tcpabuse.py" <<'EOF'
# tcpabuse.py SERVER MODE SECONDS SRC...: opens connections from the given
# sources and misbehaves for SECONDS; prints what happened to them.
import select, socket, struct, sys, time
import dns.message, dns.query, dns.rcode
server, mode, secs, srcs = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
def conn(src, rcvbuf=0):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((src, 0))
    s.settimeout(3)
    s.connect((server, 53))
    s.setblocking(False)
    return s
def framed(name, qtype, qid):
    q = dns.message.make_query(name, qtype)
    q.id = qid
    w = q.to_wire()
    return struct.pack("!H", len(w)) + w
def closed(s):
    """True when the server closed (EOF or reset)."""
    try:
        return s.recv(65535) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
if mode == "perclient":
    socks = []
    for i in range(20):
        try:
            socks.append(conn(srcs[0]))
        except OSError:
            pass
    time.sleep(secs)
    print("opened %d closed %d" % (len(socks), sum(closed(s) for s in socks)))
elif mode == "slowloris":
    # Per source 10 connections; each sends a 30-octet query one octet a second.
    socks = [conn(a) for a in srcs for _ in range(10)]
    msg = framed("www.example", "AAAA", 1)
    sent = [0] * len(socks)
    gone = [None] * len(socks)
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        for i, s in enumerate(socks):
            if gone[i] is None and closed(s):
                gone[i] = time.monotonic() - t0
            elif gone[i] is None and sent[i] < len(msg) - 1:
                try:
                    s.send(msg[sent[i]:sent[i] + 1])
                    sent[i] += 1
                except OSError:
                    gone[i] = time.monotonic() - t0
        time.sleep(1)
    done = [g for g in gone if g is not None]
    print("opened %d closed %d first %.1f last %.1f octets %d" %
          (len(socks), len(done), min(done or [0]), max(done or [0]), max(sent)))
elif mode == "noread":
    # Per source 16 connections with a small receive window, 64 pipelined
    # queries each for a 2.4 KB answer, never read.
    socks = [conn(a, 4096) for a in srcs for _ in range(16)]
    burst = b"".join(framed("bigtxt.example", "TXT", i) for i in range(64))
    for s in socks:
        try:
            s.send(burst)
        except OSError:
            pass
    time.sleep(secs)
    print("opened %d" % len(socks))
elif mode == "ratelimit":
    s = conn(srcs[0])
    s.setblocking(True)
    s.sendall(b"".join(framed("ipv4only.arpa", "AAAA", i) for i in range(50)))
    got = {}
    s.settimeout(3)
    try:
        while len(got) < 50:
            m = dns.query.receive_tcp(s)[0]
            got[m.id] = m.rcode()
    except (EOFError, socket.timeout):
        pass
    ok = sum(1 for r in got.values() if r == dns.rcode.NOERROR)
    ref = sum(1 for r in got.values() if r == dns.rcode.REFUSED)
    print("answers %d noerror %d refused %d" % (len(got), ok, ref))
EOF
abuse() { lab_in client /usr/bin/python3 "$LAB_DIR/py/tcpabuse.py" "$LAB_APPL6" "$@"; }
legit() { # a client of its own /56: answered, and how fast (ms)
	local t0 t1 out
	t0=$(date +%s%N)
	out=$(lab_in client dig +tcp +short +time=2 +tries=1 @"$LAB_APPL6" www.example AAAA)
	t1=$(date +%s%N)
	[ "$out" = 64:ff9b::c058:6350 ] && echo $(((t1 - t0) / 1000000))
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$LAB_SIXFOURD_PID/status"; }
no_tcp() { [ "$(lab_dns_stat tcp_connections)" = 0 ]; }
accepted_at_least() { [ "$(lab_dns_stat tcp_accepted)" -ge "$1" ]; }
lab_in client dig +short +tcp @"$LAB_APPL6" bigtxt.example TXT >/dev/null	# cached

# --- per-client connection limit ---
out=$(abuse perclient 0.5 "${srcs[0]}")
tap_is "20 connections from one /56: tcp-max-per-client (16) are kept, 4 closed at once" \
	"$out" "opened 20 closed 4"
tap_is "... counted" "$(lab_dns_stat tcp_refused_client)" 4
lab_wait 10 no_tcp

# --- slowloris ---
abuse slowloris 6 "${srcs[@]}" >"$LAB_DIR/slow.out" 2>&1 &
slow=$!
lab_wait 10 accepted_at_least 316
ms=$(legit)
tap_ok "a legitimate TCP client is answered while 300 slowloris connections are open (${ms:-no answer} ms)" \
	test -n "$ms"
wait "$slow"
read -r _ opened _ closed _ first _ last _ octets <"$LAB_DIR/slow.out"
tap_diag "slowloris: $(cat "$LAB_DIR/slow.out")"
tap_is "300 slowloris connections were opened" "$opened" 300
tap_is "... and every one was closed by the server" "$closed" 300
tap_ok "... at tcp-query-deadline (2 s) however many octets came (closed after $first-$last s)" \
	awk -v f="$first" -v l="$last" 'BEGIN { exit !(f >= 1 && l <= 4) }'
tap_ok "... counted as slow ($(lab_dns_stat tcp_closed_slow))" test "$(lab_dns_stat tcp_closed_slow)" -ge 300

# --- clients that never read ---
rss0=$(rss_kb)
abuse noread 12 "${srcs[@]}" >"$LAB_DIR/noread.out" 2>&1 &
noread=$!
peak=$rss0 ms=
for i in $(seq 1 40); do
	r=$(rss_kb)
	[ "$r" -gt "$peak" ] && peak=$r
	[ "$i" = 10 ] && ms=$(legit)
	sleep 0.1
done
wait "$noread"
grow=$(( (peak - rss0) / 1024 ))
tap_diag "never-read: $(cat "$LAB_DIR/noread.out"); RSS $((rss0 / 1024)) MiB -> peak $((peak / 1024)) MiB; accepted $(lab_dns_stat tcp_accepted), closed for the budget $(lab_dns_stat tcp_closed_budget), unread $(lab_dns_stat tcp_closed_unread)"
tap_is "480 connections that pipeline and never read were opened" "$(cat "$LAB_DIR/noread.out")" \
	"opened 480"
tap_ok "a legitimate TCP client is answered meanwhile (${ms:-no answer} ms)" test -n "$ms"
tap_ok "sixfourd's RSS grew by less than tcp-output-budget (1 MiB) + 8 MiB for the connections ($grow MiB)" \
	test "$grow" -lt 9
tap_ok "connections were closed when the output budget was spent ($(lab_dns_stat tcp_closed_budget))" \
	test "$(lab_dns_stat tcp_closed_budget)" -ge 1
closed_unread() {
	[ "$(( $(lab_dns_stat tcp_closed_budget) + $(lab_dns_stat tcp_closed_unread) + $(lab_dns_stat tcp_closed_idle) ))" -ge 480 ]
}
# Output the kernel took leaves a connection idle; output it did not take
# leaves it unread: either way it goes at tcp-idle-timeout.
tap_ok "... and the others at tcp-idle-timeout (3 s), before the clients give up (8 s)" \
	lab_wait 10 closed_unread
tap_diag "$(lab_ctl dns stats | grep -E "tcp_|rl_tcp")"
tap_ok "no TCP connection is left" lab_wait 5 no_tcp
tap_ok "sixfourd is still running" lab__alive "$LAB_SIXFOURD_PID"

# --- the rate limit applies to TCP (a live reload to 10 q/s) ---
lab_sixfourd_config "$LAB_DIR/tcp-limited.ini"
lab_ctl reload >/dev/null
out=$(abuse ratelimit 0 "${srcs[1]}")
tap_is "50 pipelined queries over a limit of 10: 10 answered, 40 REFUSED" "$out" \
	"answers 50 noerror 10 refused 40"
tap_ok "... counted ($(lab_dns_stat rl_tcp_refused))" test "$(lab_dns_stat rl_tcp_refused)" -ge 40
lab_sixfourd_stop
tap_ok "sixfourd exits cleanly" test $? -eq 0
tap_done
