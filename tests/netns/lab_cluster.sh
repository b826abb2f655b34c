# shellcheck shell=bash
# The two-appliance lab (doc/cluster.md), sourced after lib.sh: two sixfourd
# nodes on a shared client LAN and a shared server LAN, keepalived (VRRP)
# in each appliance namespace moving the virtual addresses.
#
#   client 2001:db8:1::100 ==clan==  appl  (node 1) 2001:db8:1::2  192.88.99.2  ==slan== server .80 .81
#                                 \= appl2 (node 2) 2001:db8:1::3  192.88.99.3  =/     \= dns .53 ...
#   virtual (keepalived, one sync group): 2001:db8:1::1 and fe80::1 on clan,
#   192.88.99.1 on slan. pool4 192.88.99.64 is on no interface: server and
#   dns route 192.88.99.64/30 via 192.88.99.1, so it reaches the active node.
#   The two bridges live in a switch namespace; each node's ports there are
#   LAB_NODE_SW6[N] / LAB_NODE_SW4[N] (captures per node).
#
# API (on top of lib.sh's):
#   lab_cluster_setup              the lab (instead of lab_setup)
#   lab_node N                     lab_sixfourd_start/stop/config, lab_ctl and
#                                  `lab_in appl` act on node N from now on
#   lab_cluster_ini N [LINES...]   a node's sixfour.ini ([cluster] node = N)
#   lab_node_ctl N ARGS...         sixfourctl of node N (through its socket)
#   lab_node_role N                active | standby | down
#   lab_keepalived_start N         keepalived in node N's namespace (own
#                                  config, pid files and FIFO under
#                                  $LAB_DIR/nodeN; nothing on the host)
#   lab_keepalived_kill N          SIGKILL to every keepalived process of N
#   lab_node_mac N if6|if4         a node's Ethernet address on a LAN
# Variables: LAB_VIP6, LAB_VIP_LL, LAB_VIP4, LAB_POOL4, LAB_NS_SWITCH,
# LAB_NODE_NS[N], LAB_NODE6[N], LAB_NODE4[N], LAB_NODE_IF6[N], LAB_NODE_IF4[N],
# LAB_NODE_SW6[N], LAB_NODE_SW4[N], LAB_SHARED (the shared directory),
# LAB_KEEPALIVED_ADVERT (advert_int, default 1).

LAB_VIP6=$LAB_APPL6
LAB_VIP_LL=fe80::1
LAB_VIP4=$LAB_APPL4
LAB_POOL4=192.88.99.64
LAB_NODE6=([1]=2001:db8:1::2 [2]=2001:db8:1::3)
LAB_NODE4=([1]=192.88.99.2 [2]=192.88.99.3)

LAB_KEEPALIVED_PID=()

# lab__cluster_port NS IF PEER BRIDGE: a veth from NS into the switch.
lab__cluster_port() {
	lab__must ip link add "$2" netns "$1" type veth peer name "$3" netns "$LAB_NS_SWITCH"
	lab__must ip -n "$LAB_NS_SWITCH" link set "$3" master "$4" up
	lab__must ip -n "$1" link set "$2" up
}

lab_cluster_setup() {
	local -; set +eu
	lab__begin
	lab_require keepalived
	LAB_NS_APPL2=$LAB_ID-appl2
	LAB_NS_SWITCH=$LAB_ID-switch
	LAB_NODE_NS=([1]=$LAB_NS_APPL [2]=$LAB_NS_APPL2)
	LAB_NODE_PIDS=([1]= [2]=)
	LAB_NODE=1
	LAB_NODE_DIR=$LAB_DIR/node1
	LAB_NS_EXTRA=("$LAB_NS_APPL" "$LAB_NS_APPL2" "$LAB_NS_SWITCH")
	local c=$LAB_NS_CLIENT s=$LAB_NS_SERVER d=$LAB_NS_DNS w=$LAB_NS_SWITCH n ns
	LAB_IF_CLIENT=${LAB_ID}c
	LAB_IF_SERVER=${LAB_ID}s
	LAB_IF_DNS=${LAB_ID}d
	LAB_NODE_IF6=([1]=${LAB_ID}a [2]=${LAB_ID}b)
	LAB_NODE_IF4=([1]=${LAB_ID}e [2]=${LAB_ID}f)
	LAB_NODE_SW6=([1]=${LAB_ID}wa [2]=${LAB_ID}wb)
	LAB_NODE_SW4=([1]=${LAB_ID}we [2]=${LAB_ID}wf)
	LAB_IF_APPL6=${LAB_NODE_IF6[1]}
	LAB_IF_APPL4=${LAB_NODE_IF4[1]}
	LAB_SHARED=$LAB_DIR/shared
	mkdir -p "$LAB_SHARED" "$LAB_DIR/node1" "$LAB_DIR/node2"
	chmod 1777 "$LAB_SHARED"	# the nodes write it as [general] user
	lab__netns_add "$c" "$LAB_NS_APPL" "$LAB_NS_APPL2" "$s" "$d" "$w"
	echo "nameserver $LAB_VIP6" >"/etc/netns/$c/resolv.conf"
	lab__ipv4_hosts
	cp "/etc/netns/$LAB_NS_APPL/resolv.conf" "/etc/netns/$LAB_NS_APPL2/resolv.conf"
	# The client takes its routes from the lab, not from the RAs it is shown.
	lab__run ip netns exec "$c" sysctl -qw net.ipv6.conf.all.accept_ra=0 \
		net.ipv6.conf.default.accept_ra=0
	lab__must ip -n "$w" link add clan type bridge forward_delay 0 stp_state 0
	lab__must ip -n "$w" link add slan type bridge forward_delay 0 stp_state 0
	lab__run ip netns exec "$w" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 net.ipv6.conf.all.disable_ipv6=1
	lab__cluster_port "$c" "$LAB_IF_CLIENT" "${LAB_ID}wc" clan
	lab__cluster_port "$s" "$LAB_IF_SERVER" "${LAB_ID}ws" slan
	lab__cluster_port "$d" "$LAB_IF_DNS" "${LAB_ID}wd" slan
	for n in 1 2; do
		ns=${LAB_NODE_NS[$n]}
		lab__cluster_port "$ns" "${LAB_NODE_IF6[$n]}" "${LAB_NODE_SW6[$n]}" clan
		lab__cluster_port "$ns" "${LAB_NODE_IF4[$n]}" "${LAB_NODE_SW4[$n]}" slan
		lab__run ip netns exec "$ns" sysctl -qw "net.ipv6.conf.${LAB_NODE_IF4[$n]}.disable_ipv6=1"
		lab__must ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1
		lab__must ip -n "$ns" addr add "${LAB_NODE6[$n]}/64" dev "${LAB_NODE_IF6[$n]}" nodad
		lab__must ip -n "$ns" addr add "${LAB_NODE4[$n]}/24" dev "${LAB_NODE_IF4[$n]}"
	done
	lab__must ip -n "$w" link set clan up
	lab__must ip -n "$w" link set slan up
	lab__must ip -n "$c" addr add "$LAB_CLIENT6/64" dev "$LAB_IF_CLIENT" nodad
	lab__must ip -n "$s" addr add "$LAB_SERVER4/24" dev "$LAB_IF_SERVER"
	lab__must ip -n "$s" addr add "$LAB_SERVER4_ALT/24" dev "$LAB_IF_SERVER"
	lab__dns_addrs
	lab__must ip -n "$c" -6 route add default via "$LAB_VIP6"
	for ns in "$s" "$d"; do
		lab__must ip -n "$ns" route add default via "$LAB_VIP4"
		lab__must ip -n "$ns" route add "$LAB_POOL4/30" via "$LAB_VIP4"
	done
	for ns in "$LAB_IF_CLIENT@$c" "$LAB_IF_SERVER@$s" "$LAB_IF_DNS@$d" \
		  "${LAB_NODE_IF6[1]}@$LAB_NS_APPL" "${LAB_NODE_IF4[1]}@$LAB_NS_APPL" \
		  "${LAB_NODE_IF6[2]}@$LAB_NS_APPL2" "${LAB_NODE_IF4[2]}@$LAB_NS_APPL2"; do
		lab_wait 10 lab__link_up "${ns#*@}" "${ns%@*}" || lab__bail "link ${ns%@*} stays down"
	done
	lab__dns_routes "$LAB_NS_APPL" "$LAB_NS_APPL2"
	lab__builtin_zones
	for n in 1 2; do
		lab_wait 10 ip netns exec "${LAB_NODE_NS[$n]}" ping -c1 -W0.2 "$LAB_SERVER4" ||
			lab__bail "node $n cannot reach the server"
		lab_wait 10 ip netns exec "${LAB_NODE_NS[$n]}" ping -6 -c1 -W0.2 "$LAB_CLIENT6" ||
			lab__bail "node $n cannot reach the client"
	done
	lab_wait 10 ip netns exec "$LAB_NS_APPL" ping -c1 -W0.2 "$LAB_DNS4" || lab__bail "no dns host"
	echo "cluster lab $LAB_ID ready in $LAB_DIR" >>"$LAB_DIR/lab.log"
}

# lab_node N: the lib.sh functions that know one appliance act on node N.
lab_node() {
	LAB_NODE_PIDS[$LAB_NODE]=$LAB_SIXFOURD_PID
	LAB_NODE=$1
	LAB_NS_APPL=${LAB_NODE_NS[$1]}
	LAB_NODE_DIR=$LAB_DIR/node$1
	LAB_SIXFOURD_PID=${LAB_NODE_PIDS[$1]}
	LAB_IF_APPL6=${LAB_NODE_IF6[$1]}
	LAB_IF_APPL4=${LAB_NODE_IF4[$1]}
}

# lab_cluster_ini N [LINES...]: node N's configuration, LINES appended
# (later sections and keys of the same name override nothing: add what the
# base leaves out). Prints the file name.
lab_cluster_ini() {
	local n=$1 f=$LAB_DIR/node$1/sixfour.ini
	shift
	cat >"$f" <<EOF
[general]
workers = 1
[prefix lab]
prefix = 64:ff9b::/96
translate = yes
advertise = yes
probe = yes
probe-target = $LAB_SERVER4
[nat64]
pool4 = $LAB_POOL4
[hints]
interface = ${LAB_NODE_IF6[$n]}
rdnss = $LAB_VIP6
[ratelimit]
dns-partner = 2001:db8:1::/48 0
[cluster]
enable = yes
node = $n
nodes = 2
shared-directory = $LAB_SHARED
virtual-address = $LAB_VIP6
virtual-router = $LAB_VIP_LL
EOF
	local l
	for l in "$@"; do
		printf '%s\n' "$l" >>"$f"
	done
	echo "$f"
}

lab_node_ctl() {
	local n=$1 bin
	shift
	bin=$(lab__bin sixfourctl) || return 2
	"$bin" -s "$LAB_DIR/node$n/run/sixfourd.sock" "$@"
}

lab_node_role() {
	lab_node_ctl "$1" --json cluster 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["role"])' 2>/dev/null ||
		echo down
}
lab__role_is() { [ "$(lab_node_role "$1")" = "$2" ]; }

lab_node_mac() {
	local n=$1 ifn
	[ "$2" = if6 ] && ifn=${LAB_NODE_IF6[$n]} || ifn=${LAB_NODE_IF4[$n]}
	ip -n "${LAB_NODE_NS[$n]}" -o link show "$ifn" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# lab_keepalived_start N [PRIORITY]: node 1 has priority 150, node 2 100
# (nopreempt: a node that comes back does not take over by itself).
lab_keepalived_start() {
	local -; set +eu
	local n=$1 prio=${2:-} dir=$LAB_DIR/node$1 ctl adv=${LAB_KEEPALIVED_ADVERT:-1}
	[ -n "$prio" ] || { [ "$n" = 1 ] && prio=150 || prio=100; }
	ctl="$(lab__bin sixfourctl) -s $dir/run/sixfourd.sock"
	rm -f "$dir/keepalived.fifo"
	cat >"$dir/keepalived.conf" <<EOF
global_defs {
	router_id sixfour-lab-$n
	vrrp_version 3
	vrrp_notify_fifo $dir/keepalived.fifo
	vrrp_notify_fifo_script "$ctl cluster follow"
	script_user root
	enable_script_security
	vrrp_garp_master_delay 1
	vrrp_garp_master_refresh 5
}
vrrp_script sixfourd {
	script "$ctl cluster check"
	interval 1
	timeout 1
	fall 1
	rise 1
}
vrrp_sync_group SIXFOUR {
	group {
		CLIENTS
		SERVERS
	}
	track_script {
		sixfourd
	}
}
vrrp_instance CLIENTS {
	state BACKUP
	nopreempt
	interface ${LAB_NODE_IF6[$n]}
	virtual_router_id 64
	priority $prio
	advert_int $adv
	virtual_ipaddress {
		$LAB_VIP_LL/128
		$LAB_VIP6/128
	}
}
vrrp_instance SERVERS {
	state BACKUP
	nopreempt
	interface ${LAB_NODE_IF4[$n]}
	virtual_router_id 64
	priority $prio
	advert_int $adv
	virtual_ipaddress {
		$LAB_VIP4/24
	}
}
EOF
	ip netns exec "${LAB_NODE_NS[$n]}" keepalived -t -f "$dir/keepalived.conf" \
		>"$dir/keepalived-check.log" 2>&1 || {
		sed 's/^/#   /' "$dir/keepalived-check.log"
		return 1
	}
	echo "=== $(date +%T.%N) keepalived" >>"$dir/keepalived.log"
	ip netns exec "${LAB_NODE_NS[$n]}" keepalived -n -l -D -G -P -f "$dir/keepalived.conf" \
		-p "$dir/keepalived.pid" -r "$dir/vrrp.pid" -c "$dir/checkers.pid" \
		>>"$dir/keepalived.log" 2>&1 </dev/null &
	LAB_PIDS+=("$!")
	LAB_KEEPALIVED_PID[$n]=$!
	lab_wait 10 test -s "$dir/vrrp.pid"
}

# lab_keepalived_kill N: keepalived dies at once, every process of it (its
# virtual addresses stay where they were, as after a crash).
lab_keepalived_kill() {
	local dir=$LAB_DIR/node$1 p pids=()
	for p in keepalived vrrp; do
		[ -s "$dir/$p.pid" ] && pids+=("$(cat "$dir/$p.pid")")
	done
	[ ${#pids[@]} -gt 0 ] && kill -KILL "${pids[@]}" 2>/dev/null
	wait "${LAB_KEEPALIVED_PID[$1]}" 2>/dev/null
	rm -f "$dir/keepalived.pid" "$dir/vrrp.pid"
	return 0
}
