#!/bin/bash
# Issue 9: nothing about a client goes to a host the client did not
# contact. The client talks to the server (.80): 20 UDP flows and a TCP
# connection, so the default pool4 has live mappings. An off-path host
# (.81) then sends a UDP datagram and a TCP SYN to every pool4 port
# (61001-65535). Under endpoint-independent filtering (the default) its
# packets reach the client's mappings and create sessions (the client's
# stack answers the SYN with a RST), but no handoff
# datagram goes to it: tcpdump on the IPv4 side sees notices to .80 (the
# host the client contacted) and none to .81, and no packet to .81 carries
# the client's address.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_require tcpdump tshark
tap_plan 8
lab_setup
HANDOFF_PORT=64646
lab_ini_nat64 "$LAB_DIR/offpath.ini" 2
lab_server_echo tcp 7000
lab_server_echo udp 7001
lab_sixfourd_start "$LAB_DIR/offpath.ini" || lab_bail "sixfourd"

lab_tcpdump server tcpdump "$LAB_DIR/ipv4.pcap" -B 16384 -i "$LAB_IF_SERVER" ip || lab_bail "tcpdump"
TCPDUMP=$LAB_LAST_PID

# The client: 20 answered UDP flows and one TCP connection to .80, kept
# open (so its address is in live mappings) until released.
cat >"$LAB_DIR/client.py" <<'EOF'
import os, socket, sys, time
dst, release = sys.argv[1], sys.argv[2]
socks = []
for i in range(20):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b"hello %d" % i, (dst, 7001))
    s.recvfrom(100)
    socks.append(s)
c = socket.create_connection((dst, 7000), timeout=5)
c.sendall(b"x" * 100)
c.recv(100)
print("ready", flush=True)
while not os.path.exists(release):
    for s in socks:
        s.setblocking(False)
        try:
            while s.recvfrom(2048):	# the off-path host's datagrams
                pass
        except OSError:
            pass
    time.sleep(0.05)
EOF
lab_bg client client /usr/bin/python3 "$LAB_DIR/client.py" "$LAB_SERVER6" "$LAB_DIR/release"
CLIENT=$LAB_LAST_PID
lab_wait 15 grep -q '^ready' "$LAB_DIR/client.log" || lab_bail "the client's flows"

# The off-path host: one UDP datagram and one SYN to every pool4 port,
# paced (a burst of 9070 packets can overflow the TUN's queue on a loaded
# machine, and a lost one may be a mapping's). A sweep that still lost
# some is sent once more: a repeated packet opens nothing new.
before=$(lab_nat64_stat "d['session_events']['unannounced']")
cat >"$LAB_DIR/sweep.py" <<'EOF'
import socket, struct, sys, time
src, dst = sys.argv[1], sys.argv[2]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((src, 5555))
t = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
t.bind((src, 0))
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
sa, da = socket.inet_aton(src), socket.inet_aton(dst)
for port in range(61001, 65536):
    u.sendto(b"who is there?", (dst, port))
    hdr = struct.pack("!HHIIBBHHH", 5556, port, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    c = csum(sa + da + struct.pack("!xBH", 6, len(hdr)) + hdr)
    t.sendto(hdr[:16] + struct.pack("!H", c) + hdr[18:], (dst, 0))
    if port % 250 == 0:
        time.sleep(0.01)
EOF
opened() { [ $(( $(lab_nat64_stat "d['session_events']['unannounced']") - before )) -ge 21 ]; }
for sweep in 1 2; do
	lab_in server /usr/bin/python3 "$LAB_DIR/sweep.py" "$LAB_SERVER4_ALT" "$LAB_APPL4"
	lab_wait 10 opened && break
done
unannounced=$(( $(lab_nat64_stat "d['session_events']['unannounced']") - before ))
tap_ok "the off-path host's packets reached the client's mappings ($unannounced sessions opened from outside)" \
	test "$unannounced" -ge 21
# Let every notice that would follow go out (batch delay 5 ms, probes
# 50/s per server): more than a second of it.
lab_wait 5 sh -c "[ \$(lab_ctl --json handoff | /usr/bin/python3 -c 'import json,sys; print(sum(json.load(sys.stdin)[\"totals\"].values()))') -gt 0 ]"
sleep 2	# what must NOT happen has no event to wait for
kill "$TCPDUMP"
wait "$TCPDUMP" 2>/dev/null
touch "$LAB_DIR/release"
wait "$CLIENT"

count() { tshark -r "$LAB_DIR/ipv4.pcap" -Y "$1" 2>/dev/null | wc -l; }
tap_ok "tcpdump saw the off-path host's 9070 packets" test "$(count "ip.src == $LAB_SERVER4_ALT")" -ge 9070
tap_ok "handoff datagrams went to the host the client contacted (.80)" \
	test "$(count "ip.dst == $LAB_SERVER4 && udp.dstport == $HANDOFF_PORT")" -gt 0
tap_is "no handoff datagram went to the off-path host (.81)" \
	"$(count "ip.dst == $LAB_SERVER4_ALT && udp.dstport == $HANDOFF_PORT")" 0
tap_is "no datagram from the handoff port went to it either" \
	"$(count "ip.dst == $LAB_SERVER4_ALT && udp.srcport == $HANDOFF_PORT")" 0
# The client's address in any packet to .81 (notice or not): its 16 octets.
CLIENT6_HEX=$(/usr/bin/python3 -c "import ipaddress; print(ipaddress.ip_address('$LAB_CLIENT6').packed.hex(':'))")
tap_is "no packet to .81 carries the client's IPv6 address" \
	"$(count "ip.dst == $LAB_SERVER4_ALT && frame contains $CLIENT6_HEX")" 0
tap_ok "... while packets to .80 do (the notices name it)" \
	test "$(count "ip.dst == $LAB_SERVER4 && frame contains $CLIENT6_HEX")" -gt 0
tap_is "the translator counted no notice toward .81" \
	"$(lab_ctl --json handoff | /usr/bin/python3 -c "import json,sys; print(sum(1 for s in json.load(sys.stdin)['sessions'] if s['server'] == '$LAB_SERVER4_ALT'))")" 0
tap_done
