#!/bin/bash
# Two sixfourd nodes, one service (issue 16, doc/cluster.md): keepalived
# (VRRP) in two appliance namespaces on a shared client LAN and a shared
# server LAN moves the virtual addresses; a long-lived TCP connection to a
# host running sixfour-handoffd survives kill -9 of the active node's
# sixfourd (failover) and then of the other node's keepalived (failback),
# idle then active from each side (two connections: at each takeover one
# has the client speak first, the other the server), without a handshake (the new active node
# resumes the shared session) and without a port taken from it; a
# connection to a host without the server component times out, new
# connections work at once through the new active node; DNS64 answers go on
# during both takeovers; only the active node sends handoff datagrams and
# advertises itself as a router (from the virtual link-local address), and
# PREF64 stays as it was; a standby (before keepalived and after a restart)
# that receives spoofed packets for the pool, even for a live connection,
# drops them (counted) and sends nothing: no reply, no ICMP error, no lookup.
#
#   client ==clan== appl (node 1), appl2 (node 2) ==slan== server .80 (sixfour-handoffd)
#                                                    \==== dns .53 (no handoff daemon)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/lab_cluster.sh"
. "$top_srcdir/tests/netns/handoff_lib.sh"
lab_require tcpdump keepalived
tap_plan 50
lab_cluster_setup
lab_dns_start || lab_bail "the DNS hierarchy did not start"
handoff_lab_vars
T4=$LAB_POOL4
TOOL2=$top_srcdir/tests/netns/cluster_tool.py
HSTATE=$LAB_DIR/handoffd HLOG=$LAB_DIR/handoffd.log
mkdir -p "$HSTATE"
PLAIN4=$LAB_DNS4 PLAIN6=64:ff9b::$LAB_DNS4
SHARE1="1024 33279" SHARE2="33280 65535"	# pool4 1024-65535 in two shares

now() { date +%s.%N; }
changed_at() { # changed_at N: when node N's role last changed (epoch s)
	lab_node_ctl "$1" --json cluster | $PY -c 'import json,sys; print(json.load(sys.stdin)["changed_at_us"] / 1e6)'
}
said() { lab_node_ctl "$1" --json cluster | $PY -c 'import json,sys; print(json.load(sys.stdin)["keepalived"])'; }
said_is() { [ "$(said "$1")" = "$2" ]; }
ntotal() { # ntotal N COUNTER: node N's handoff engine total
	lab_node_ctl "$1" --json handoff | $PY -c 'import json,sys; print(json.load(sys.stdin)["totals"][sys.argv[1]])' "$2"
}
in_share() { # in_share PORT "LO HI"
	set -- "$1" $2
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%d", (b - a) * 1000}'; }
conn2() { # like conn, for the connection to the host without the daemon
	echo "$*" >&7
	local line=
	read -r -t 60 line <&8
	echo "$line"
}
node_acked() { # node_acked N CLIENT_PORT
	lab_node_ctl "$1" --json nat64 sessions | $PY -c '
import json, sys
port = int(sys.argv[1])
sys.exit(0 if any(s.get("proto") == "tcp" and s.get("client_port") == port and
                  s.get("state") == "acked" for s in json.load(sys.stdin)) else 1)' "$2"
}
capture() { # capture NAME IFACE FILTER: tcpdump in the switch namespace
	ip netns exec "$LAB_NS_SWITCH" tcpdump -i "$2" -U -n -s 0 -w "$LAB_DIR/$1.pcap" "$3" \
		>"$LAB_DIR/$1.tcpdump.log" 2>&1 &
	LAB_PIDS+=("$!")
	lab_wait 10 grep -q 'listening on' "$LAB_DIR/$1.tcpdump.log"
}

# --- the lab: servers, captures, both nodes standby ---
handoffd_start || lab_bail "sixfour-handoffd did not start"
for n in 1 2; do
	capture "handoff$n" "${LAB_NODE_SW4[$n]}" "udp port $PORT and ether src $(lab_node_mac $n if4)" ||
		lab_bail "no capture on node $n's port"
done
capture ras "${LAB_ID}wc" "icmp6 and ip6[40] == 134" || lab_bail "no RA capture"
capture server "${LAB_ID}ws" "arp or tcp port 7100" || lab_bail "no capture on the server's port"
# What node 1 sends from the pool or as an error, on either LAN: a standby
# must send none of it.
capture pool1 "${LAB_NODE_SW4[1]}" "ether src $(lab_node_mac 1 if4) and (src host $T4 or icmp)" ||
	lab_bail "no capture of node 1's IPv4 side"
capture xl1 "${LAB_NODE_SW6[1]}" \
	"ether src $(lab_node_mac 1 if6) and (src net 64:ff9b::/96 or (icmp6 and ip6[40] < 128))" ||
	lab_bail "no capture of node 1's IPv6 side"
for n in 1 2; do
	lab_node $n
	lab_sixfourd_start "$(lab_cluster_ini $n "[hints]" "max-interval = 4s" "min-interval = 3s" \
		"router-lifetime = 30s")" ||
		lab_bail "sixfourd on node $n did not start"
done
tap_is "before keepalived reports, both nodes are standby" \
	"$(lab_node_role 1) $(lab_node_role 2)" "standby standby"
# Packets for the pool sent to a standby's own address (as if it held the
# virtual address): no answer, no RST, no ICMP error.
lab_in dns ip route add "$T4/32" via "${LAB_NODE4[1]}"
tap_is "a standby node answers nothing on the pool (TCP and UDP)" \
	"$(lab_in dns $PY "$TOOL2" standby-probe "$T4" 7100 7101)" "tcp timeout udp timeout"
lab_in dns ip route del "$T4/32" via "${LAB_NODE4[1]}"
standby_drops() {
	lab_node_ctl "$1" --json nat64 stats | $PY -c 'import json,sys; print(json.load(sys.stdin)["drops"]["STANDBY"])'
}
tap_ok "... and counted what it dropped (STANDBY)" test "$(standby_drops 1)" -ge 2
# keepalived gives a node the virtual addresses a moment before its report
# makes it active. What the client sends for the prefix then must reach the
# TUN (dropped, STANDBY), not the standby's route via the virtual address,
# which is now its own: the kernel would queue it and answer "address
# unreachable" 3 s later (node 1's capture, checked below, would show it too).
d0=$(standby_drops 1)
ip -n "${LAB_NODE_NS[1]}" addr add "$LAB_VIP6/128" dev "${LAB_NODE_IF6[1]}" nodad
r=$(lab_in client ping -n -c 3 -i 0.3 -w 5 64:ff9b::c058:6350 2>&1)
ip -n "${LAB_NODE_NS[1]}" addr del "$LAB_VIP6/128" dev "${LAB_NODE_IF6[1]}"
ip -n "$LAB_NS_CLIENT" neigh flush dev "$LAB_IF_CLIENT"
tap_diag "ping through a standby that holds the virtual address: $(printf '%s' "$r" | tail -2 | tr '\n' ' ')"
held_ok() { [ $(($(standby_drops 1) - d0)) -ge 3 ] && ! printf '%s' "$r" | grep -q 'errors\|nreachable'; }
tap_ok "a standby given the virtual address drops the prefix's packets (STANDBY) and answers nothing" held_ok
# While keepalived moves the virtual address, each node may still have the
# other's MAC for it: a packet for it must not go back and forth between
# them until its hop limit runs out (then an ICMPv6 Time Exceeded). Neither
# node forwards what is addressed to the virtual address (nft, forward).
m1=$(lab_node_mac 1 if6) m2=$(lab_node_mac 2 if6)
ip -n "$LAB_NS_CLIENT" neigh replace "$LAB_VIP6" lladdr "$m1" dev "$LAB_IF_CLIENT" nud permanent
ip -n "${LAB_NODE_NS[1]}" neigh replace "$LAB_VIP6" lladdr "$m2" dev "${LAB_NODE_IF6[1]}" nud permanent
ip -n "${LAB_NODE_NS[2]}" neigh replace "$LAB_VIP6" lladdr "$m1" dev "${LAB_NODE_IF6[2]}" nud permanent
r=$(lab_in client ping -n -c 3 -i 0.3 -w 3 "$LAB_VIP6" 2>&1)
ip -n "$LAB_NS_CLIENT" neigh del "$LAB_VIP6" dev "$LAB_IF_CLIENT"
ip -n "${LAB_NODE_NS[1]}" neigh del "$LAB_VIP6" dev "${LAB_NODE_IF6[1]}"
ip -n "${LAB_NODE_NS[2]}" neigh del "$LAB_VIP6" dev "${LAB_NODE_IF6[2]}"
tap_diag "ping to the virtual address between two nodes without it: $(printf '%s' "$r" | tail -2 | tr '\n' ' ')"
tap_unlike "a packet for the virtual address is not bounced between the nodes (no Time Exceeded)" \
	"$r" 'errors|exceeded|Unreachable'

# --- keepalived: node 1 active, node 2 standby ---
lab_keepalived_start 1 || lab_bail "keepalived on node 1"
tap_ok "keepalived makes node 1 active" lab_wait 15 lab__role_is 1 active
T_ACT1=$(changed_at 1)
lab_keepalived_start 2 || lab_bail "keepalived on node 2"
tap_ok "node 2 stays standby: keepalived says backup" lab_wait 15 said_is 2 backup
tap_like "sixfourctl cluster shows the role as keepalived reports it" "$(lab_node_ctl 1 cluster)" \
	'^node 1 of 2: active for [0-9]+ s \(keepalived: master\)'
tap_like "the standby routes its own packets for the prefix through the virtual address (iif lo)" \
	"$({ ip -n "$LAB_NS_APPL2" -6 rule show; ip -n "$LAB_NS_APPL2" -6 route show table 6464 64:ff9b::/96; } | tr '\n' ' ')" \
	"iif lo lookup 6464.*via $LAB_VIP6 "
health_up() { lab_node_ctl "$1" health | grep -Eq '^lab +up +active'; }
tap_ok "the standby's health verdict: up, probed through node 1" lab_wait 15 health_up 2
want6=64:ff9b::c058:6350
tap_is "DNS64 answers on the virtual address and on the standby's own" \
	"$(lab_in client dig +short +time=2 "@$LAB_VIP6" www.example AAAA) $(lab_in client dig +short +time=2 "@${LAB_NODE6[2]}" www.example AAAA)" \
	"$want6 $want6"

# --- the connections, through node 1 ---
lab_node 1
coproc CONNP { exec $PY "$CONN" "$LAB_NS_CLIENT" "$LAB_NS_SERVER" "$S4" "$S6" 7100; }
read -r _ CPORT PEER4 PPORT <<<"$(conn open)"
from_share1() { [ "$PEER4" = "$T4" ] && in_share "${PPORT:-0}" "$SHARE1"; }
tap_ok "a long-lived connection to the handoff server, from node 1's share of the pool" from_share1
tap_ok "node 1's handoff session is up and the server acked the entry" lab_wait 10 node_acked 1 "$CPORT"
# A second helper (bash keeps one coproc): through two FIFOs.
mkfifo "$LAB_DIR/connb.in" "$LAB_DIR/connb.out"
$PY "$CONN" "$LAB_NS_CLIENT" "$LAB_NS_DNS" "$PLAIN4" "$PLAIN6" 7200 \
	<"$LAB_DIR/connb.in" >"$LAB_DIR/connb.out" 2>>"$LAB_DIR/connb.log" &
LAB_PIDS+=("$!")
exec 7>"$LAB_DIR/connb.in" 8<"$LAB_DIR/connb.out"
read -r _ _ PEERB _ <<<"$(conn2 open)"
tap_is "a connection to a host without the server component, through node 1" "$PEERB" "$T4"
# A second connection to the handoff server (the other order at each takeover).
mkfifo "$LAB_DIR/connc.in" "$LAB_DIR/connc.out"
$PY "$CONN" "$LAB_NS_CLIENT" "$LAB_NS_SERVER" "$S4" "$S6" 7300 \
	<"$LAB_DIR/connc.in" >"$LAB_DIR/connc.out" 2>>"$LAB_DIR/connc.log" &
LAB_PIDS+=("$!")
exec 5>"$LAB_DIR/connc.in" 6<"$LAB_DIR/connc.out"
conn3_send() { echo "$*" >&5; }
conn3_read() { local line=; read -r -t 60 line <&6; echo "$line"; }
read -r _ CPORT3 _ _ <<<"$(conn3_send open; conn3_read)"
tap_ok "a second connection to the handoff server, its entry acked too" \
	lab_wait 10 node_acked 1 "${CPORT3:-0}"
lab_bg client dnsloop $PY "$TOOL2" dnsloop "$LAB_DIR/dns.log" www.example \
	"$LAB_VIP6" "${LAB_NODE6[1]}" "${LAB_NODE6[2]}"
lab_wait 10 sh -c "[ \$(wc -l <'$LAB_DIR/dns.log') -ge 6 ]"

# --- failover: kill -9 of node 1's sixfourd ---
T_KILL1=$(now)
kill -KILL "$LAB_SIXFOURD_PID"
wait "$LAB_SIXFOURD_PID" 2>/dev/null
LAB_SIXFOURD_PID=
tap_ok "kill -9 of node 1's sixfourd: node 2 takes over" lab_wait 15 lab__role_is 2 active
T_ACT2=$(changed_at 2)
conn3_send c2s cli-first-after-failover 20	# at the same time, the other order
got=$(conn ts2c "srv-after-failover" 20)
T_DATA2=$(now)
tap_like "the connection survives, the server speaking first" "$got" '^ok'
tap_is "... and the second one, the client speaking first" "$(conn3_read)" ok
tap_is "... then its server" "$(conn3_send s2c srv-second-after-failover 20; conn3_read)" ok
tap_diag "failover: node 2 active $(ms_between "$T_KILL1" "$T_ACT2") ms after the kill, the server's data delivered $(ms_between "$T_KILL1" "$T_DATA2") ms after it"
tap_is "... and then the client" "$(conn c2s cli-after-failover 20)" ok
tap_is "node 2 resumed node 1's session from the shared directory: no handshake" \
	"$(ntotal 2 RESUMED) $(ntotal 2 HANDSHAKES)" "1 0"
tap_like "the connection to the host without the server component times out" \
	"$(conn2 c2s plain-after-failover 3)" '^fail'
read -r _ NPORT <<<"$(conn2 many 1)"
tap_ok "a new connection to that host works at once, from node 2's share" in_share "${NPORT:-0}" "$SHARE2"
read -r _ HPORT <<<"$(conn many 1)"
tap_ok "... and a new one to the handoff server too" in_share "${HPORT:-0}" "$SHARE2"
vip_gone() { ! ip -n "${LAB_NODE_NS[$1]}" -6 addr show | grep -q "$LAB_VIP6/"; }
tap_ok "node 1's keepalived gave the virtual addresses up (track script)" lab_wait 5 vip_gone 1
lab_sixfourd_start "$LAB_DIR/node1/sixfour.ini" || lab_bail "node 1's sixfourd did not restart"
T_UP1=$(now)
standby_backup() { lab__role_is 1 standby && said_is 1 backup; }
tap_ok "node 1's sixfourd comes back as standby, keepalived says backup" lab_wait 15 standby_backup
lab_wait 10 node_acked 2 "$CPORT"
# Spoofed packets for the pool straight to the restarted standby, one of
# them in the live connection (the server's address and port): a lookup,
# a reply or an error would show in the captures (checked below).
d0=$(standby_drops 1)
lab_in server $PY "$TOOL2" spoof "$LAB_IF_SERVER" "$(lab_node_mac 1 if4)" "$S4" "$T4" 7100 \
	"$PPORT" "$PORT" >/dev/null
dropped3() { [ $(($(standby_drops 1) - d0)) -ge 3 ]; }
tap_ok "the restarted standby drops spoofed packets for a live connection (STANDBY)" \
	lab_wait 5 dropped3

# --- failback: kill -9 of every keepalived process of node 2 ---
T_KILL2=$(now)
lab_keepalived_kill 2
tap_ok "kill -9 of node 2's keepalived: its sixfourd goes standby (keepalived gone)" \
	lab_wait 5 said_is 2 gone
T_STBY2=$(changed_at 2)
tap_ok "node 1 takes over" lab_wait 15 lab__role_is 1 active
T_ACT1B=$(changed_at 1)
conn3_send s2c srv-first-after-failback 20
got=$(conn tc2s "cli-after-failback" 20)
T_DATA1=$(now)
tap_like "the connection survives again, the client speaking first" "$got" '^ok'
tap_is "... and the second one, the server speaking first" "$(conn3_read)" ok
tap_is "... then its client" "$(conn3_send c2s cli-second-after-failback 20; conn3_read)" ok
tap_diag "failback: node 2 standby $(ms_between "$T_KILL2" "$T_STBY2") ms after the kill, node 1 active after $(ms_between "$T_KILL2" "$T_ACT1B") ms, the client's data delivered after $(ms_between "$T_KILL2" "$T_DATA1") ms"
tap_is "... and then the server" "$(conn s2c srv-after-failback 20)" ok
tap_is "node 1 resumed the shared session too: no handshake" "$(ntotal 1 HANDSHAKES)" 0
read -r _ HPORT <<<"$(conn many 1)"
tap_ok "a new connection works at once through node 1, from its share" in_share "${HPORT:-0}" "$SHARE1"
tap_like "all of them still carry data" "$(conn manycheck end)" "^manycheck 2 *$"
# The analysis below wants a few more queries and node 1's first RA as the
# virtual router (RFC 4861 6.2.6 spaces RAs 3 s apart).
vip_queries_after() {
	[ "$(awk -v a="$1" -v ip="$LAB_VIP6" '$2 == ip && $1 > a' "$LAB_DIR/dns.log" | wc -l)" -ge 5 ]
}
lab_wait 10 vip_queries_after "$T_ACT1B"
MAC1=$(lab_node_mac 1 if6) MAC2=$(lab_node_mac 2 if6)
vip_ra_from1() {
	$PY "$TOOL2" ras "$LAB_DIR/ras.pcap" | awk -v t="$T_ACT1B" -v v="$LAB_VIP_LL" -v m="$MAC1" \
		'$1 > t && $2 == v && $3 == m && $4 > 0 { f = 1 } END { exit !f }'
}
lab_wait 10 vip_ra_from1
T_END=$(now)

# --- DNS64 during the takeovers ---
rep() { $PY "$TOOL2" dnsreport "$LAB_DIR/dns.log" "$@"; }
r=$(rep "${LAB_NODE6[2]}" "$T_KILL1" "$T_DATA2")
tap_diag "node 2's own address while node 1 died: $r"
tap_like "DNS64: every query to node 2's own address was answered while node 1 died" "$r" ' lost 0 '
r=$(rep "${LAB_NODE6[1]}" "$T_KILL2" "$T_DATA1")
tap_diag "node 1's own address while node 2's keepalived died: $r"
tap_like "DNS64: every query to node 1's own address was answered during the failback" "$r" ' lost 0 '
r1=$(rep "$LAB_VIP6" "$T_KILL1" "$T_KILL2") r2=$(rep "$LAB_VIP6" "$T_KILL2" "$T_END")
tap_diag "the virtual address: failover $r1; failback $r2"
after_ok() { # the last queries of a window were answered
	[ "$(awk -v a="$2" -v b="$3" -v ip="$1" '$2 == ip && $1 >= a && $1 <= b' "$LAB_DIR/dns.log" |
		tail -5 | grep -c ' ok ')" -ge 4 ]
}
both_ok() { after_ok "$LAB_VIP6" "$T_ACT2" "$T_KILL2" && after_ok "$LAB_VIP6" "$T_ACT1B" "$T_END"; }
tap_ok "DNS64 on the virtual address answers again after each takeover" both_ok

# --- RAs: one router (the virtual link-local), PREF64 stable ---
RAS=$($PY "$TOOL2" ras "$LAB_DIR/ras.pcap")
tap_is "every RA came from the virtual link-local address, with a router lifetime (a standby sends none)" \
	"$(printf '%s\n' "$RAS" | awk -v v="$LAB_VIP_LL" 'NF && ($2 != v || $4 == 0)')" ""
owners=$(printf '%s\n' "$RAS" | awk -v v="$LAB_VIP_LL" -v m1="$MAC1" -v m2="$MAC2" \
	'$2 == v && $4 > 0 { o = ($3 == m1) ? 1 : ($3 == m2) ? 2 : "?"; if (o != last) printf "%s", o; last = o }')
tap_is "... from node 1, then node 2 after the failover, node 1 after the failback" "$owners" 121
tap_unlike "every RA carried PREF64 64:ff9b::/96 with a lifetime: PREF64 stays as it was" \
	"$RAS" ' (-|[^ ]*64:ff9b::/96:0)$'

# --- only the active node spoke the handoff protocol ---
plus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f", a + b}'; }
tap_diag "times: active 1 $T_ACT1, kill 1 $T_KILL1, active 2 $T_ACT2, kill 2 $T_KILL2, standby 2 $T_STBY2, active 1 $T_ACT1B, end $T_END"
s1=$($PY "$TOOL2" sent "$LAB_DIR/handoff1.pcap" "$T_ACT1" "$(plus "$T_KILL1" 0.1)" "$T_ACT1B" end)
s2=$($PY "$TOOL2" sent "$LAB_DIR/handoff2.pcap" "$T_ACT2" "$(plus "$T_STBY2" 0.1)")
tap_diag "handoff datagrams: node 1 $s1; node 2 $s2"
tap_like "node 1 sent no handoff datagram while it was not active" "$s1" '^outside 0 of [1-9]'
tap_like "node 2 sent none while standby" "$s2" '^outside 0 of [1-9]'
w1=("$T_ACT1" "$(plus "$T_KILL1" 0.1)" "$T_ACT1B" end)
p1=$($PY "$TOOL2" sent "$LAB_DIR/pool1.pcap" "${w1[@]}")
# On the IPv6 side, from the kill to the restart node 1 is not a standby but
# dead: its kernel answers the queries to its own address with ICMPv6 port
# unreachable (no sixfourd on port 53), and for up to a track interval it
# still holds the virtual address and answers what comes for the prefix
# with ICMPv6 unreachable.
x1=$($PY "$TOOL2" sent "$LAB_DIR/xl1.pcap" "$T_ACT1" "$T_UP1" "$T_ACT1B" end)
tap_diag "node 1 from the pool or ICMP: IPv4 side $p1; translated or ICMPv6 errors: IPv6 side $x1"
tap_like "node 1 sent nothing from the pool and no ICMP error while standby (probe, spoofing)" \
	"$p1" '^outside 0 of [1-9]'
tap_like "... and translated nothing toward the clients" "$x1" '^outside 0 of [1-9]'
tap_is "the server saw one handshake in the whole run: the takeovers resumed it" \
	"$(grep -c "Initialized $T4" "$HLOG")" 1
tap_is "... and replaced no entry: no port was taken from a live connection" "$(grep -c Deleted "$HLOG")" 0
tap_ok "the shared directory holds the session (0600, no client in it)" \
	sh -c "[ \$(stat -c %a '$LAB_SHARED/handoff-state') = 600 ] &&
	       grep -q '^session $T4 $S4 ' '$LAB_SHARED/handoff-state' && ! grep -q 2001:db8 '$LAB_SHARED/handoff-state'"
netns_of() { readlink "/proc/$1/ns/net"; }
host_ka=0
for p in $(pgrep -x keepalived); do
	[ "$(netns_of "$p")" = "$(netns_of 1)" ] && host_ka=$((host_ka + 1))
done
tap_is "no keepalived runs in this machine's own namespace" "$host_ka" 0

conn quit >/dev/null
conn2 quit >/dev/null
conn3_send quit
tap_done
