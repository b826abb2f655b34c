#!/bin/bash
# Issue 17 and issue 9 item 5, seen by real sockets: the errors the
# translator itself originates, and their limits.
#   1. IPv4 UDP to a pool port without a mapping: Destination Unreachable,
#      Host Unreachable (RFC 6146 3.5.1), in the sender's socket error
#      queue; refused by address-dependent filtering: code 13.
#   2. IPv6 UDP with checksum 0: dropped (RFC 8200 8.1), counted.
#   3. An IPv6 destination that may not be translated (a non-global IPv4
#      address under the Well-Known Prefix, RFC 6052 3.1): Destination
#      Unreachable, no route, so the client fails at once.
#   4. Per destination, at most icmp-errors-per-destination errors a second
#      (RFC 4443 2.4 (f)); the rest counted as icmp_suppressed.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_begin 15
SPOOF=$top_srcdir/tests/netns/nat64_spoof.py
UDP=$top_srcdir/tests/netns/nat64_udp.py
write_ini() { # write_ini FILTERING
	lab_ini_nat64 "$LAB_DIR/errors.ini" 1 '[nat64]' "filtering = $1" \
		'icmp-errors-per-destination = 5'
	[ -d "$LAB_DIR/etc" ] && lab_sixfourd_config "$LAB_DIR/errors.ini"
}
write_ini endpoint-independent
lab_server_echo udp 7000
lab_sixfourd_start "$LAB_DIR/errors.ini" || lab_bail "sixfourd"

# errq FAMILY SRC DST PORT COUNT [SRCPORT]: sends COUNT datagrams from one
# socket with IP(V6)_RECVERR, to PORT, PORT+1, ...; prints the ICMP errors
# its error queue got: "err TYPE CODE OFFENDER", then "errors N".
cat >"$LAB_DIR/errq.py" <<'EOF'
import socket, struct, sys, time
fam, src, dst, port, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sport = int(sys.argv[6]) if len(sys.argv) > 6 else 0
six = fam == "6"
s = socket.socket(socket.AF_INET6 if six else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, sport))
IP_RECVERR, IPV6_RECVERR = 11, 25	# linux/in.h, linux/in6.h
if six:
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
else:
    s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
for i in range(count):
    for attempt in range(2):
        try:
            s.sendto(b"hello?", (dst, port + i))
            break
        except OSError:
            pass	# an error queued before reports itself here: once more
errors, end = 0, time.time() + 2
while time.time() < end:
    try:
        _, anc, _, _ = s.recvmsg(512, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except BlockingIOError:
        time.sleep(0.02)
        continue
    for level, kind, data in anc:
        # struct sock_extended_err, then the offender's sockaddr
        errno_, origin, typ, code = struct.unpack_from("=IBBB", data)
        off = data[16:]
        if six:
            addr = socket.inet_ntop(socket.AF_INET6, off[8:24])
        else:
            addr = socket.inet_ntop(socket.AF_INET, off[4:8])
        print("err %d %d %s" % (typ, code, addr), flush=True)
        errors += 1
print("errors %d" % errors, flush=True)
EOF

# 1. No mapping: Host Unreachable from the pool address.
out=$(lab_in server /usr/bin/python3 "$LAB_DIR/errq.py" 4 "$LAB_SERVER4" "$LAB_APPL4" 62000 1)
tap_like "UDP to a pool port without a mapping: Host Unreachable in the socket's error queue" \
	"$out" "^err 3 1 $LAB_APPL4\$"
tap_is "counted as an ICMP error sent" "$(lab_nat64_stat "d['packets']['icmp_sent']")" 1

# 4. The per-destination limit: 30 closed ports, a burst of 5 errors.
# Every one of the 30 is either answered or suppressed; the counters are
# read once the worker has seen all 30 (on a loaded machine the last ones
# may still be queued in the TUN when the sender returns).
icmp_pair="d['packets']['icmp_sent'] + d['packets']['icmp_suppressed']"
before=$(lab_nat64_stat "$icmp_pair")
sup0=$(lab_nat64_stat "d['packets']['icmp_suppressed']")
out=$(lab_in server /usr/bin/python3 "$LAB_DIR/errq.py" 4 "$LAB_SERVER4" "$LAB_APPL4" 62100 30)
n=$(sed -n 's/^errors //p' <<<"$out")
tap_ok "30 datagrams to closed pool ports: at most the per-destination burst answered ($n)" \
	test "${n:-99}" -ge 1 -a "${n:-99}" -le 6
icmp_seen() { test $(( $(lab_nat64_stat "$icmp_pair") - before )) -ge 30; }
lab_wait 10 icmp_seen
sup=$(( $(lab_nat64_stat "d['packets']['icmp_suppressed']") - sup0 ))
tap_ok "the rest were counted as icmp_suppressed ($sup of 30)" test "$sup" -ge 24
out=$(lab_in server /usr/bin/python3 "$LAB_DIR/errq.py" 4 "$LAB_SERVER4_ALT" "$LAB_APPL4" 62200 1)
tap_like "another destination still gets its error" "$out" "^err 3 1 "

# 1b. Address-dependent filtering: a mapping toward .80, probed from .81.
write_ini address-dependent
tap_ok "reload to address-dependent filtering" lab_ctl reload
lab_bg client flow /usr/bin/python3 "$UDP" send "$LAB_SERVER6" 7000 10 2001:db8:1::100 40500 5
lab_wait 10 grep -q '^reply' "$LAB_DIR/flow.log"
mport=$(lab_ctl nat64 sessions | sed -n 's/.*\]:40500 .* as [0-9.]*:\([0-9]*\) .*/\1/p' | head -1)
sleep 1.1	# a fresh second for the per-destination bucket of .81
out=$(lab_in server /usr/bin/python3 "$LAB_DIR/errq.py" 4 "$LAB_SERVER4_ALT" "$LAB_APPL4" "${mport:-1}" 1)
tap_like "filtered by address-dependent filtering: code 13 (administratively prohibited)" \
	"$out" "^err 3 13 $LAB_APPL4\$"
tap_ok "... and the packet counted as FILTERED" test "$(lab_nat64_stat "d['drops']['FILTERED']")" -ge 1
tap_unlike "... and it never reached the client" "$(cat "$LAB_DIR/flow.log")" '^extra'

# 3. A non-global IPv4 address under the Well-Known Prefix.
out=$(lab_in client /usr/bin/python3 "$LAB_DIR/errq.py" 6 2001:db8:1::100 64:ff9b::10.0.0.1 9 1)
tap_like "a non-global destination under the WKP: Destination Unreachable, no route" \
	"$out" "^err 1 0 "
start=$(date +%s.%N)
res=$(lab_in client /usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET6)
s.settimeout(10)
try:
    s.connect(('64:ff9b::10.0.0.1', 80)); print('connected')
except OSError as e:
    print('refused', e.errno)")
secs=$(/usr/bin/python3 -c "import time; print('%.1f' % (time.time() - $start))")
tap_like "a TCP connect there fails at once ($res after ${secs} s)" "$res" '^refused (113|101)$'
tap_ok "... well before a timeout" /usr/bin/python3 -c "assert $secs < 5"
tap_ok "counted as NON_GLOBAL_V4 drops" test "$(lab_nat64_stat "d['drops']['NON_GLOBAL_V4']")" -ge 2

# 2. IPv6 UDP with checksum 0 (a raw socket), then the same datagram with one.
peers=$(grep -c '^peer' "$LAB_DIR/echo-udp-7000.log")
lab_in client /usr/bin/python3 -c "
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
src = socket.inet_pton(socket.AF_INET6, '2001:db8:1::100')
dst = socket.inet_pton(socket.AF_INET6, '$LAB_SERVER6')
udp = struct.pack('!HHHH', 40600, 7000, 8 + 4, 0) + b'zero'
ip = struct.pack('!IHBB', 6 << 28, len(udp), 17, 64) + src + dst
s.sendto(ip + udp, ('$LAB_SERVER6', 0))"
lab_wait 5 sh -c "lab_ctl --json nat64 stats | grep -q '\"UDP_ZERO_CHECKSUM\":1'"
tap_is "IPv6 UDP with checksum 0 is dropped and counted (RFC 8200 8.1)" \
	"$(lab_nat64_stat "d['drops']['UDP_ZERO_CHECKSUM']")" 1
tap_is "... and never reached the server" "$(grep -c '^peer' "$LAB_DIR/echo-udp-7000.log")" "$peers"
tap_done
