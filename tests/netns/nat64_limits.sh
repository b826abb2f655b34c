#!/bin/bash
# The translator's bounds and filtering in the lab: a small session table
# (eviction from the client holding the most when full), the per-client cap, address-dependent
# filtering, an inbound SYN without state answered with port unreachable
# after tcp-syn-wait (RFC 6146 3.5.2.2), and reload of what may change.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_begin 29
UDP=$top_srcdir/tests/netns/nat64_udp.py
SERVER6C=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]))' "$LAB_SERVER6")
write_ini() { # write_ini UDP_TIMEOUT MAX_SESSIONS
	lab_ini_nat64 "$LAB_DIR/limits.ini" 1 '[nat64]' "max-sessions = $2" \
		'max-sessions-per-client = 20' 'client-prefix-len = 128' \
		'filtering = address-dependent' "udp-timeout = $1"
	# What a running sixfourd reads on reload (lab_sixfourd_start's copy).
	[ -d "$LAB_DIR/etc" ] && lab_sixfourd_config "$LAB_DIR/limits.ini"
}
write_ini 300s 32
lab_server_echo udp 7000
lab_sixfourd_start "$LAB_DIR/limits.ini" || lab_bail "sixfourd"
ip -n "$LAB_NS_CLIENT" addr add 2001:db8:1::200/64 dev "$LAB_IF_CLIENT" nodad

tap_is "25 flows from one client: 20 pass (the per-client cap)" \
	"$(lab_in client python3 "$UDP" many "$LAB_SERVER6" 7000 25 2001:db8:1::100)" 20
tap_is "the other 5 are refused: CLIENT_LIMIT drops counted" "$(lab_nat64_stat "d['drops']['CLIENT_LIMIT']")" 5
tap_like "and exported as a Prometheus metric" "$(lab_ctl metrics 2>&1)" \
	'sixfour_nat64_drops_total\{reason="CLIENT_LIMIT"\} 5'
tap_is "12 flows from a second client fill the table" \
	"$(lab_in client python3 "$UDP" many "$LAB_SERVER6" 7000 12 2001:db8:1::200)" 12
tap_is "the table is full (32)" "$(lab_nat64_stat "d['sessions']['count']")" 32
tap_is "4 more flows of the second client all pass" \
	"$(lab_in client python3 "$UDP" many "$LAB_SERVER6" 7000 4 2001:db8:1::200)" 4
tap_is "the table stays at its size" "$(lab_nat64_stat "d['sessions']['count']")" 32
tap_is "4 answered flows were evicted" "$(lab_nat64_stat "d['session_events']['evicted_live']")" 4
tap_is "from the client holding more: the first keeps 16" \
	"$(lab_ctl nat64 sessions | grep -c '2001:db8:1::100')" 16

# Address-dependent filtering: the server's address may answer from any
# port; another IPv4 address may not.
lab_in client python3 "$UDP" send "$LAB_SERVER6" 7000 10 2001:db8:1::100 40123 20 >"$LAB_DIR/adf.out" &
cpid=$!
lab_wait 10 grep -q "^reply" "$LAB_DIR/adf.out"
mport=$(grep -o 'peer 192.88.99.1:[0-9]*' "$LAB_DIR/echo-udp-7000.log" | tail -1)
mport=${mport##*:}
before=$(lab_nat64_stat "d['drops']['FILTERED']")
lab_in server python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$LAB_SERVER4_ALT', 7200)); s.sendto(b'alt', ('$LAB_APPL4', ${mport:-1}))"
lab_wait 5 sh -c "[ \$(lab_ctl --json nat64 stats | python3 -c \"import json,sys; print(json.load(sys.stdin)['drops']['FILTERED'])\") -gt $before ]"
tap_is "adf: another IPv4 address is filtered" "$(lab_nat64_stat "d['drops']['FILTERED']")" $((before + 1))
lab_in server python3 "$UDP" once 7100 "$LAB_APPL4" "${mport:-1}" sameadr
lab_wait 5 grep -q "^extra" "$LAB_DIR/adf.out"
wait $cpid
tap_like "adf: the same address from another port passes" "$(cat "$LAB_DIR/adf.out")" \
	"extra 7 $SERVER6C 7100"
tap_unlike "adf: nothing from the other address arrived" "$(cat "$LAB_DIR/adf.out")" "alt|7200"

# An inbound SYN without state waits tcp-syn-wait (6 s), then ICMP port
# unreachable refuses the connection.
res=$(lab_in server python3 -c "
import socket, time
s = socket.socket(); s.settimeout(20); t = time.time()
try:
    s.connect(('$LAB_APPL4', 62000)); print('connected')
except ConnectionRefusedError:
    print('refused %.1f' % (time.time() - t))
except Exception as e:
    print('other', e)")
tap_like "inbound SYN refused by port unreachable" "$res" "^refused"
secs=${res#refused }
tap_ok "only after tcp-syn-wait (${secs:-?} s)" python3 -c "import sys; assert 5.5 <= float(sys.argv[1]) < 12" "${secs:-0}"
tap_is "counted as a stored SYN that timed out" "$(lab_nat64_stat "d['session_events']['syn_timed_out']")" 1

# Reload: timeouts may change; the table size needs a restart.
write_ini 200s 32
tap_ok "reload with a new udp-timeout is accepted" lab_ctl reload
tap_like "new UDP sessions get the new lifetime" \
	"$(lab_in client python3 "$UDP" send "$LAB_SERVER6" 7000 10 2001:db8:1::100 40999 >/dev/null; lab_ctl nat64 sessions | grep ':40999 ')" \
	"expires (19[0-9]|200)s"
write_ini 200s 64
refuse_reload() { ! lab_ctl reload; }
tap_ok "reload with another max-sessions is refused" refuse_reload

# [ratelimit] bandwidth: a global cap in bytes/s. A burst of 300 KB against
# a 64 KiB/s cap (bucket: 100 ms of it, at least one 64 KiB buffer) loses
# most of it, counted as RATE_LIMITED; with the cap off nothing is lost.
blast() { # blast COUNT: COUNT datagrams of 1000 octets to the echo server
	lab_in client python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b'x' * 1000, ('$SERVER6C', 7000))" "$1"
}
write_ini 200s 32
printf '[ratelimit]\nbandwidth = 64k\n' >>"$LAB_DIR/etc/sixfour.ini"
tap_ok "reload with a bandwidth cap is accepted" lab_ctl reload
before=$(lab_nat64_stat "d['drops']['RATE_LIMITED']")
blast 300
lab_wait 5 sh -c "[ \$(lab_ctl --json nat64 stats | python3 -c \"import json,sys; print(json.load(sys.stdin)['drops']['RATE_LIMITED'])\") -ge $((before + 100)) ]"
tap_ok "most of a 300 KB burst over a 64 KiB/s cap is dropped as RATE_LIMITED" \
	test "$(lab_nat64_stat "d['drops']['RATE_LIMITED']")" -ge $((before + 100))
write_ini 200s 32
tap_ok "reload without the cap is accepted" lab_ctl reload
before=$(lab_nat64_stat "d['drops']['RATE_LIMITED']")
blast 50
tap_is "without the cap nothing more is rate limited" "$(lab_nat64_stat "d['drops']['RATE_LIMITED']")" "$before"
tap_is "the running table keeps its size" "$(lab_nat64_stat "d['sessions']['count'] <= 32")" True

# The default pool4 follows the host's addresses (netlink events).
nft_has() { lab_in appl nft list table inet sixfour 2>/dev/null | grep -q "ip daddr $1 "; }
nft_lacks() { ! nft_has "$1"; }
lab_in appl ip addr add 192.88.99.3/24 dev "$LAB_IF_APPL4"
tap_ok "a new host address joins the shared pool4 (steering rules)" lab_wait 5 nft_has 192.88.99.3
tap_ok "the first address stays" nft_has "$LAB_APPL4"
lab_in appl ip addr del 192.88.99.3/24 dev "$LAB_IF_APPL4"
tap_ok "a removed address leaves the pool" lab_wait 5 nft_lacks 192.88.99.3
tap_is "traffic still flows after the changes" \
	"$(lab_in client python3 "$UDP" send "$LAB_SERVER6" 7000 10 2001:db8:1::100 41000 | cut -d' ' -f1-3)" "reply 10 1"
tap_ok "flush removes every session" lab_ctl nat64 flush
tap_is "no sessions after flush" "$(lab_nat64_stat "d['sessions']['count']")" 0
tap_done
