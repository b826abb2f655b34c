# shellcheck shell=bash
# The sixfour namespace lab: sourced by the end-to-end tests (bash).
#
#   client  IPv6-only host 2001:db8:1::100/64, default via 2001:db8:1::1,
#           resolv.conf -> 2001:db8:1::1 (sixfourd's DNS64)
#   appl    runs sixfourd: 2001:db8:1::1/64 towards the client, and a bridge
#           with 192.88.99.1/24 joining server and dns (the IPv4 side)
#   server  IPv4-only host 192.88.99.80/24 (+ .81), default via .1
#   dns     the authoritative hierarchy (nsd): the lab root zone on the
#           IPv4 addresses of a..m.root-servers.net (on its loopback, routed
#           via appl), arpa servers on .20-.22, ns1/ns2.example on .10/.11
#
# resolv.conf (/etc/netns/<ns>): client -> 2001:db8:1::1, appl -> itself
# (127.0.0.1, ::1), server and dns -> 192.88.99.1.
#
#        client --veth-- appl ==bridge== server
#                                 \==== dns
#
# 192.88.99.0/24 (the deprecated 6to4 anycast block, RFC 7526) is global
# unicast in the sense of RFC 6052 section 3.1, so the well-known prefix
# 64:ff9b::/96 may embed it; nothing in this block leaves the namespaces.
#
# DNS hierarchy (every zone is signed unless told otherwise; the root's key
# is the trust anchor in $LAB_TRUST_ANCHOR):
#   .                          nsd "root" on the 13 root-server addresses
#   arpa. in-addr.arpa. ip6.arpa.   nsd "arpa" (a.ns.arpa 192.88.99.20,
#                              a.in-addr-servers.arpa .21, a.ip6-servers.arpa .22)
#   example. 99.88.192.in-addr.arpa. 1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.
#   ipv4only.arpa. (unsigned, as in RFC 8880) and every lab_zone zone
#                              nsd "ns" (ns1.example .10, ns2.example .11)
# A zone is delegated (NS, glue when the server name is inside the child,
# DS when signed) from the closest enclosing zone of the lab, so resolution
# really walks root -> TLD -> ... referrals.
#
# The example. zone: www A .80, www2 A .81, multi A .80 + .81, dual A .80
# + AAAA $LAB_DUAL6, v6only AAAA $LAB_V6ONLY6, cname CNAME www, nodata TXT
# only, ns1/ns2/dns/nat64 (A of the lab hosts), client AAAA; PTRs for the
# lab hosts in 99.88.192.in-addr.arpa. and the 2001:db8:1::/48 ip6.arpa.
#
# API (each function is documented where it is defined):
#   lab_begin PLAN [CMD...] (lab_require_root, lab_require, tap_plan, lab_setup),
#   lab_setup, lab_cleanup (the trap calls it), lab_at_exit CMD
#   lab_zone NAME FILE [signed|unsigned|bogus], lab_records ZONE RR...,
#   lab_records_seq ZONE OWNER TYPE FORMAT FIRST LAST,
#   lab_dns_start
#   lab_sixfourd_start [INI], lab_sixfourd_stop, lab_sixfourd_config INI,
#   lab_ctl ARGS...
#   lab_in ROLE CMD..., lab_bg ROLE NAME CMD..., lab_wait SECONDS CMD...
#   lab_server_http PORT [DIR], lab_server_echo udp|tcp PORT,
#   lab_unbound_start PORT [LINE...]
#   lab_require_root, lab_require CMD..., lab_bail REASON, lab_ini_disable SECTION...,
#   lab_ini_nat64 FILE WORKERS [LINE...], lab_ini_dns64, lab_nat64_stat EXPR, lab_dns_stat NAME,
#   lab_tcpdump ROLE NAME PCAP ARGS..., lab_ra_capture PCAP,
#   lab_ra_fields PCAP FROM FIELD..., lab_client_site PREFIX ADDR
#   TAP: tap_plan, tap_ok, tap_is, tap_like, tap_unlike, tap_skip, tap_diag, tap_done,
#   tap_missing (for a script with its own EXIT trap, not lab_setup)
# Variables: LAB_DIR, LAB_ID, LAB_NS_{CLIENT,APPL,SERVER,DNS}, the addresses
# below, LAB_IF_{CLIENT,APPL6,APPL4,SERVER,DNS} (interface names inside the
# namespaces), LAB_TRUST_ANCHOR (root DNSKEY; the DS is $LAB_DIR/root.ds),
# LAB_ROOT_HINTS, LAB_SIXFOURD_PID, LAB_UNBOUND_PID, LAB_LAST_PID, LAB_HTTP_TEXT.
# Set LAB_KEEP=1 to keep $LAB_DIR (logs, zones, configs) after the run; it
# is renamed /tmp/sixfour-lab-kept.*.
#
# Notes for test authors:
# - Functions that start things record state in shell variables
#   (LAB_SIXFOURD_PID, LAB_PIDS): call them in the test's own shell, never
#   inside $(...) or a pipeline. tap_ok runs its command in the current
#   shell, so `tap_ok "starts" lab_sixfourd_start INI` is fine.
# - The lab functions work whether or not the caller uses set -e / set -u.
# - lab_setup owns the EXIT, INT, TERM and HUP traps; register extra
#   clean-up with lab_at_exit instead of replacing them.
# - To reload a changed config, start sixfourd with an INI (it is then read
#   as /etc/sixfour/sixfour.ini), then lab_sixfourd_config NEW.ini and
#   `lab_ctl reload` (or kill -HUP "$LAB_SIXFOURD_PID").
# - libunbound answers the reverse zones of 2001:db8::/32 itself unless its
#   config says `local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault`.

LAB_CLIENT6=2001:db8:1::100
LAB_APPL6=2001:db8:1::1
LAB_APPL4=192.88.99.1
LAB_SERVER4=192.88.99.80
LAB_SERVER4_ALT=192.88.99.81
LAB_SERVER6=64:ff9b::$LAB_SERVER4	# the server under the Well-Known Prefix
LAB_DNS4=192.88.99.53
LAB_NS1_4=192.88.99.10
LAB_NS2_4=192.88.99.11
LAB_ARPA4=192.88.99.20
LAB_INADDR4=192.88.99.21
LAB_IP6ARPA4=192.88.99.22
# "Real" AAAA records of the example zone: 3fff::/20 is the IPv6
# documentation block of RFC 9637, outside 2001:db8::/32 so that no exclude
# list of a DNS64 treats it as unusable.
LAB_DUAL6=3fff:0:99::80
LAB_V6ONLY6=3fff:0:99::81
LAB_HTTP_TEXT="Hello from the IPv4-only server of the sixfour lab."

# The root servers as libunbound's built-in hints know them; b also on its
# address before 2023 so an older libunbound finds the lab root too.
LAB_ROOT_NAMES=(a b c d e f g h i j k l m)
LAB_ROOT4=(198.41.0.4 170.247.170.2 192.33.4.12 199.7.91.13 192.203.230.10 192.5.5.241
	   192.112.36.4 198.97.190.53 192.36.148.17 192.58.128.30 193.0.14.129 199.7.83.42
	   202.12.27.33)
LAB_ROOT4_EXTRA=(199.9.14.201)

# ---------------------------------------------------------------- TAP ----

TAP_N=0
TAP_FAILED=0
TAP_PLAN=

# tap_plan N: declares the number of checks up front (call it before the
# first check, after lab_require*). A run that stops early, or that skips
# a check, then fails in the TAP driver instead of passing with a shorter
# plan; lab__bail and other early exits report "not ok" for what is left.
tap_plan() {
	TAP_PLAN=$1
	echo "1..$1"
}

# tap_diag TEXT...: TAP comment lines.
tap_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

tap__result() { # tap__result PASS DESC
	TAP_N=$((TAP_N + 1))
	if [ "$1" = 1 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# tap_ok DESC CMD...: passes when CMD succeeds; its output is shown on
# failure. CMD runs in the current shell, so lab functions that set
# variables (lab_sixfourd_start) work under it.
tap_ok() {
	local -; set +eu	# works under a caller's set -e / -u
	local desc=$1 out rc
	shift
	out=$(mktemp "${LAB_DIR:-/tmp}/tap.XXXXXX")
	"$@" >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		tap__result 1 "$desc"
	else
		tap__result 0 "$desc"
		tap_diag "command: $* (exit $rc)"
		head -40 "$out" | sed 's/^/#   /'
	fi
	rm -f "$out"
	return $rc
}

# tap_is DESC GOT WANT
tap_is() {
	local -; set +eu
	if [ "$2" = "$3" ]; then
		tap__result 1 "$1"
		return 0
	fi
	tap__result 0 "$1"
	tap_diag "got:  '$2'" "want: '$3'"
	return 1
}

# tap_like DESC TEXT REGEX (extended regex, matched anywhere in TEXT)
tap_like() {
	local -; set +eu
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		tap__result 1 "$1"
		return 0
	fi
	tap__result 0 "$1"
	tap_diag "no match for /$3/ in:"
	printf '%s\n' "$2" | head -40 | sed 's/^/#   /'
	return 1
}

# tap_unlike DESC TEXT REGEX
tap_unlike() {
	local -; set +eu
	if ! printf '%s\n' "$2" | grep -Eq -- "$3"; then
		tap__result 1 "$1"
		return 0
	fi
	tap__result 0 "$1"
	tap_diag "unexpected match for /$3/ in:"
	printf '%s\n' "$2" | head -40 | sed 's/^/#   /'
	return 1
}

# tap_skip DESC REASON
tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

# tap_done: returns 1 when a check failed, no plan was declared (tap_plan), or
# the count differs from the plan (use it last).
tap_done() {
	if [ -z "$TAP_PLAN" ]; then
		echo "Bail out! no tap_plan N before the first check"
		return 1
	elif [ "$TAP_N" -ne "$TAP_PLAN" ]; then
		tap_diag "planned $TAP_PLAN checks, ran $TAP_N"
		tap_missing
		return 1
	fi
	[ "$TAP_FAILED" -eq 0 ]
}

# tap_missing: with a plan, one "not ok" per check an early exit left out
# (lab_cleanup calls it; a test without lab_setup calls it in its EXIT trap).
tap_missing() {
	[ -n "$TAP_PLAN" ] || return 0
	while [ "$TAP_N" -lt "$TAP_PLAN" ]; do
		tap__result 0 "not run: the test stopped early"
	done
}

# ------------------------------------------------------------ helpers ----

# lab_require_root: skips the whole test (TAP "1..0 # SKIP") unless root.
lab_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP needs root"
		exit 0
	fi
}

# lab_require CMD...: skips the whole test when a command is missing
# (scripts/setup installs all of them from scripts/packages.txt).
lab_require() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			echo "1..0 # SKIP $c is not installed (run scripts/setup)"
			exit 0
		fi
	done
}

# lab_begin PLAN [CMD...]: how a lab test starts, in the test's own shell:
# skips the whole test unless it runs as root with every CMD installed
# (lab_require_root, lab_require), declares the PLAN checks up front
# (tap_plan) and sets up the lab (lab_setup).
lab_begin() {
	local plan=$1
	shift
	lab_require_root
	lab_require "$@"
	tap_plan "$plan"
	lab_setup
}

# lab_bail REASON: stops the test: "not ok" for every planned check not
# run yet, then "Bail out!" (and the tail of the lab log).
lab_bail() { lab__bail "$@"; }

lab__bail() {
	tap_missing
	echo "Bail out! lab: $*"
	[ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/lab.log" ] && tail -20 "$LAB_DIR/lab.log" | sed 's/^/# /'
	exit 1
}

# Runs a set-up command, logging it; output goes to $LAB_DIR/lab.log.
lab__run() {
	echo "+ $*" >>"$LAB_DIR/lab.log"
	"$@" >>"$LAB_DIR/lab.log" 2>&1
}

lab__must() {
	lab__run "$@" || lab__bail "failed: $*"
}

# lab__alive PID: running and not a zombie.
lab__alive() {
	[ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# lab_wait SECONDS CMD...: polls CMD (every 0.1 s) until it succeeds;
# returns 1 after SECONDS.
lab_wait() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
	return 0
}

lab__ns() { # lab__ns ROLE -> namespace name
	case $1 in
	client) echo "$LAB_NS_CLIENT" ;;
	appl) echo "$LAB_NS_APPL" ;;
	server) echo "$LAB_NS_SERVER" ;;
	dns) echo "$LAB_NS_DNS" ;;
	*) echo "lab: unknown role '$1' (client, appl, server, dns)" >&2; return 1 ;;
	esac
}

# lab_in ROLE CMD...: runs CMD in the namespace of ROLE (client, appl,
# server, dns). /etc/netns/<ns>/resolv.conf applies.
lab_in() {
	local ns
	ns=$(lab__ns "$1") || return 2
	shift
	ip netns exec "$ns" "$@"
}

# lab_bg ROLE NAME CMD...: starts CMD in the background in ROLE's namespace,
# output in $LAB_DIR/NAME.log; sets LAB_LAST_PID. lab_cleanup kills it.
lab_bg() {
	local -; set +eu
	local ns name=$2
	ns=$(lab__ns "$1") || return 2
	shift 2
	ip netns exec "$ns" "$@" >>"$LAB_DIR/$name.log" 2>&1 </dev/null &
	LAB_LAST_PID=$!
	LAB_PIDS+=("$LAB_LAST_PID")
}

# lab_ini_disable SECTION...: INI text that turns those subsystems off
# ("[dns64]\nenable = no" each), for configs that test one subsystem alone.
lab_ini_disable() {
	local sec
	for sec in "$@"; do
		printf '[%s]\nenable = no\n' "$sec"
	done
}

# lab_ini_nat64 FILE WORKERS [LINE...]: writes FILE, a config for the
# translator without DNS64 ("[general]\nworkers = WORKERS", "[dns64]\n
# enable = no"), then each LINE on a line of its own (more sections).
lab_ini_nat64() {
	local file=$1 workers=$2
	shift 2
	{
		printf '[general]\nworkers = %s\n' "$workers"
		lab_ini_disable dns64
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} >"$file"
}

# lab_ini_dns64: INI text that starts a [dns64] section resolving through
# the lab's root (root hints, no IPv6 transport: the lab's DNS is IPv4);
# more [dns64] keys may follow it.
lab_ini_dns64() {
	printf '[dns64]\nroot-hints = %s\nunbound-option = do-ip6: no\n' "$LAB_ROOT_HINTS"
}

# lab_at_exit CMD...: runs CMD (eval'd) first thing in lab_cleanup.
lab_at_exit() {
	LAB_AT_EXIT+=("$*")
}

lab__link_up() { # lab__link_up NETNS IFNAME
	ip -n "$1" link show dev "$2" 2>/dev/null | grep -q 'state UP'
}

# lab__listening ROLE tcp|udp PORT
lab__listening() {
	local flag=-t
	[ "$2" = udp ] && flag=-u
	[ -n "$(lab_in "$1" ss -Hln "$flag" "sport = :$3" 2>/dev/null)" ]
}

lab__bin() { # lab__bin NAME -> path of a built program
	local dir=${top_builddir:-$PWD}
	if [ -x "$dir/$1" ]; then
		echo "$dir/$1"
	else
		echo "lab: $dir/$1 not built (set top_builddir)" >&2
		return 1
	fi
}

# Namespaces of runs whose shell is gone (killed with SIGKILL, say) are
# removed so they do not pile up. The owner's pid is in the name; a live
# pid is never touched.
lab__reap_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns =~ ^sf([0-9a-f]+)-(client|appl|appl2|switch|server|dns)$ ]] || continue
		pid=$((16#${BASH_REMATCH[1]}))
		[ -e "/proc/$pid" ] && continue
		local p
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	for ns in /etc/netns/sf*-client /etc/netns/sf*-appl /etc/netns/sf*-appl2 /etc/netns/sf*-switch \
		  /etc/netns/sf*-server /etc/netns/sf*-dns; do
		[ -d "$ns" ] || continue
		ns=${ns#/etc/netns/}
		[[ $ns =~ ^sf([0-9a-f]+)- ]] || continue
		pid=$((16#${BASH_REMATCH[1]}))
		[ -e "/proc/$pid" ] || [ -e "/run/netns/$ns" ] || rm -rf "/etc/netns/$ns"
	done
	for ns in /tmp/sixfour-lab.sf*.*; do
		[[ $ns =~ ^/tmp/sixfour-lab\.sf([0-9a-f]+)\.[^.]+$ ]] || continue
		pid=$((16#${BASH_REMATCH[1]}))
		[ -e "/proc/$pid" ] || [ -e "/run/netns/sf${BASH_REMATCH[1]}-appl" ] || rm -rf "$ns"
	done
}

# -------------------------------------------------------------- setup ----

# lab__begin: what every lab topology starts with (lab_setup here,
# lab_cluster_setup in lab_cluster.sh): the lab's id, directory, namespace
# names, state variables and the cleanup traps.
lab__begin() {
	lab_require_root
	lab_require ip nsenter unshare flock python3 dig nsd ldns-keygen ldns-signzone ss ping
	# A second lab_setup in the same shell first removes the first lab.
	[ -n "${LAB_ID:-}" ] && [ "${LAB_OWNER:-}" = "$BASHPID" ] && lab_cleanup
	lab__reap_stale
	LAB_OWNER=$BASHPID
	# The owner shell's pid (not a subshell's) names the lab: unique among
	# parallel tests, and lets a later run see that the owner is gone.
	printf -v LAB_ID 'sf%x' "$BASHPID"
	LAB_DIR=$(mktemp -d "/tmp/sixfour-lab.$LAB_ID.XXXXXX") || lab__bail "mktemp"
	chmod 755 "$LAB_DIR"	# nsd and sixfourd read below it after dropping privileges
	mkdir -p "$LAB_DIR/etc" "$LAB_DIR/zones-src" "$LAB_DIR/www"
	chmod 755 "$LAB_DIR/etc" "$LAB_DIR/www"
	: >"$LAB_DIR/lab.log"
	LAB_NS_CLIENT=$LAB_ID-client
	LAB_NS_APPL=$LAB_ID-appl
	LAB_NS_SERVER=$LAB_ID-server
	LAB_NS_DNS=$LAB_ID-dns
	LAB_TRUST_ANCHOR=$LAB_DIR/root.key
	LAB_ROOT_HINTS=$LAB_DIR/root.hints
	LAB_PIDS=()
	LAB_AT_EXIT=()
	LAB_NS_EXTRA=()
	LAB_SIXFOURD_PID=
	LAB_UNBOUND_PID=
	LAB_DNS_STARTED=
	declare -gA LAB_ZONE_MODE=()
	LAB_ZONES=()
	trap 'lab__exit' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# lab__netns_add NS...: the namespaces, each with lo up and no duplicate
# address detection (addresses are usable at once).
lab__netns_add() {
	local ns
	for ns in "$@"; do
		# `ip netns add` makes /run/netns a shared mount the first time;
		# parallel tests must not race on that.
		lab__must flock /tmp/sixfour-lab.lock ip netns add "$ns"
		mkdir -p "/etc/netns/$ns"
		lab__must ip -n "$ns" link set lo up
		lab__run ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0
	done
}

# lab__ipv4_hosts: resolv.conf of the appliance, server and dns hosts, and
# IPv6 off on server and dns (IPv4-only hosts).
lab__ipv4_hosts() {
	local ns
	printf 'nameserver 127.0.0.1\nnameserver ::1\n' >"/etc/netns/$LAB_NS_APPL/resolv.conf"
	echo "nameserver $LAB_APPL4" >"/etc/netns/$LAB_NS_SERVER/resolv.conf"
	echo "nameserver $LAB_APPL4" >"/etc/netns/$LAB_NS_DNS/resolv.conf"
	for ns in "$LAB_NS_SERVER" "$LAB_NS_DNS"; do
		lab__run ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
}

# lab__dns_addrs: the dns host's addresses on LAB_IF_DNS and the root
# servers' on its loopback (this kernel may lack the dummy driver; lo
# serves the same purpose).
lab__dns_addrs() {
	local ip4
	for ip4 in "$LAB_DNS4" "$LAB_NS1_4" "$LAB_NS2_4" "$LAB_ARPA4" "$LAB_INADDR4" "$LAB_IP6ARPA4"; do
		lab__must ip -n "$LAB_NS_DNS" addr add "$ip4/24" dev "$LAB_IF_DNS"
	done
	for ip4 in "${LAB_ROOT4[@]}" "${LAB_ROOT4_EXTRA[@]}"; do
		echo "addr add $ip4/32 dev lo"
	done >"$LAB_DIR/root-addrs.batch"
	lab__must ip -n "$LAB_NS_DNS" -batch "$LAB_DIR/root-addrs.batch"
}

# lab__dns_routes NS...: the appliance namespaces route the root servers'
# addresses via the dns host (once their links are up).
lab__dns_routes() {
	local ip4 ns
	for ip4 in "${LAB_ROOT4[@]}" "${LAB_ROOT4_EXTRA[@]}"; do
		echo "route add $ip4/32 via $LAB_DNS4"
	done >"$LAB_DIR/root-routes.batch"
	for ns in "$@"; do
		lab__must ip -n "$ns" -batch "$LAB_DIR/root-routes.batch"
	done
}

# lab_setup: namespaces, links, addresses, routes, the cleanup trap and the
# built-in zones; returns when the links pass traffic.
lab_setup() {
	local -; set +eu
	lab__begin

	# Interface names stay below 15 characters: sf + up to 6 hex digits + 2.
	local c=$LAB_NS_CLIENT a=$LAB_NS_APPL s=$LAB_NS_SERVER d=$LAB_NS_DNS ns
	LAB_IF_CLIENT=${LAB_ID}c	# in client, towards appl
	LAB_IF_APPL6=${LAB_ID}a	# in appl, towards client
	LAB_IF_APPL4=${LAB_ID}br	# in appl, the IPv4 bridge
	LAB_IF_SERVER=${LAB_ID}s	# in server
	LAB_IF_DNS=${LAB_ID}d	# in dns
	lab__netns_add "$c" "$a" "$s" "$d"
	echo "nameserver $LAB_APPL6" >"/etc/netns/$c/resolv.conf"
	lab__ipv4_hosts
	lab__must ip netns exec "$a" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# Bridged frames must not go through the appliance's nftables rules.
	lab__run ip netns exec "$a" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0

	# Links are created directly inside the namespaces: nothing of the lab
	# ever appears among this machine's interfaces.
	lab__must ip link add "$LAB_IF_CLIENT" netns "$c" type veth peer name "$LAB_IF_APPL6" netns "$a"
	lab__must ip -n "$a" link add "$LAB_IF_APPL4" type bridge forward_delay 0 stp_state 0
	lab__must ip link add "$LAB_IF_SERVER" netns "$s" type veth peer name "${LAB_ID}as" netns "$a"
	lab__must ip link add "$LAB_IF_DNS" netns "$d" type veth peer name "${LAB_ID}ad" netns "$a"
	lab__must ip -n "$a" link set "${LAB_ID}as" master "$LAB_IF_APPL4"
	lab__must ip -n "$a" link set "${LAB_ID}ad" master "$LAB_IF_APPL4"
	for ns in "${LAB_ID}as" "${LAB_ID}ad" "$LAB_IF_APPL4"; do
		lab__run ip netns exec "$a" sysctl -qw "net.ipv6.conf.$ns.disable_ipv6=1"
	done

	lab__must ip -n "$c" addr add "$LAB_CLIENT6/64" dev "$LAB_IF_CLIENT" nodad
	lab__must ip -n "$a" addr add "$LAB_APPL6/64" dev "$LAB_IF_APPL6" nodad
	lab__must ip -n "$a" addr add "$LAB_APPL4/24" dev "$LAB_IF_APPL4"
	lab__must ip -n "$s" addr add "$LAB_SERVER4/24" dev "$LAB_IF_SERVER"
	lab__must ip -n "$s" addr add "$LAB_SERVER4_ALT/24" dev "$LAB_IF_SERVER"
	lab__dns_addrs
	for ns in "$LAB_IF_CLIENT@$c" "$LAB_IF_APPL6@$a" "${LAB_ID}as@$a" "${LAB_ID}ad@$a" \
		  "$LAB_IF_APPL4@$a" "$LAB_IF_SERVER@$s" "$LAB_IF_DNS@$d"; do
		lab__must ip -n "${ns#*@}" link set "${ns%@*}" up
	done
	lab__must ip -n "$c" -6 route add default via "$LAB_APPL6"
	lab__must ip -n "$s" route add default via "$LAB_APPL4"
	lab__must ip -n "$d" route add default via "$LAB_APPL4"
	lab__dns_routes "$a"

	lab__builtin_zones
	# A neighbour solicitation sent before the link is operationally up is
	# lost and retried only after RetransTimer (1 s): wait for "UP" first.
	for ns in "$LAB_IF_CLIENT@$c" "$LAB_IF_APPL6@$a" "$LAB_IF_APPL4@$a" "$LAB_IF_SERVER@$s" \
		  "$LAB_IF_DNS@$d"; do
		lab_wait 10 lab__link_up "${ns#*@}" "${ns%@*}" || lab__bail "link ${ns%@*} stays down"
	done
	lab_wait 10 lab_in client ping -6 -c1 -W0.2 "$LAB_APPL6" || lab__bail "client cannot reach appl"
	lab_wait 10 lab_in appl ping -c1 -W0.2 "$LAB_SERVER4" || lab__bail "appl cannot reach server"
	lab_wait 10 lab_in appl ping -c1 -W0.2 "$LAB_DNS4" || lab__bail "appl cannot reach dns"
	echo "lab $LAB_ID ready in $LAB_DIR" >>"$LAB_DIR/lab.log"
}

# ------------------------------------------------------------ cleanup ----

# lab__terminate SECONDS PID...: SIGTERM, then SIGKILL after SECONDS.
lab__terminate() {
	local end=$((SECONDS + $1)) p
	shift
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	for p in "$@"; do
		while lab__alive "$p" && [ $SECONDS -lt $end ]; do sleep 0.05; done
		lab__alive "$p" && kill -KILL "$p" 2>/dev/null
	done
	return 0
}

# lab_cleanup: runs the lab_at_exit hooks, kills every process the lab
# started (everything in its namespaces and the lab_bg jobs), deletes the
# namespaces, /etc/netns/<ns> and $LAB_DIR. Safe to call twice.
# The EXIT trap: an exit before the last check reports what was left as
# "not ok" (only in the shell that owns the lab), then the lab goes.
lab__exit() {
	[ "${LAB_OWNER:-}" = "$BASHPID" ] && tap_missing
	lab_cleanup
}

lab_cleanup() {
	local -; set +eu
	[ -n "${LAB_ID:-}" ] || return 0
	# Only the shell that set the lab up removes it, never a subshell that
	# inherited its variables.
	[ "${LAB_OWNER:-}" = "$BASHPID" ] || return 0
	local hook ns p pids=()
	for hook in "${LAB_AT_EXIT[@]}"; do
		eval "$hook" >/dev/null 2>&1
	done
	LAB_AT_EXIT=()
	# First the processes the lab started (so nsd, say, stops its own
	# children), then whatever else still runs in the namespaces.
	for p in "${LAB_PIDS[@]}" $LAB_SIXFOURD_PID; do
		lab__alive "$p" && pids+=("$p")
	done
	lab__terminate 5 "${pids[@]}"
	pids=()
	for ns in "$LAB_NS_CLIENT" "$LAB_NS_APPL" "$LAB_NS_SERVER" "$LAB_NS_DNS" "${LAB_NS_EXTRA[@]}"; do
		[ -e "/run/netns/$ns" ] || continue
		mapfile -t -O ${#pids[@]} pids < <(ip netns pids "$ns" 2>/dev/null)
	done
	lab__terminate 2 "${pids[@]}"
	for p in "${LAB_PIDS[@]}" $LAB_SIXFOURD_PID; do
		wait "$p" 2>/dev/null	# reap our own children
	done
	for ns in "$LAB_NS_CLIENT" "$LAB_NS_APPL" "$LAB_NS_SERVER" "$LAB_NS_DNS" "${LAB_NS_EXTRA[@]}"; do
		# A process killed just now may still hold the namespace a moment.
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	if [ -n "${LAB_KEEP:-}" ]; then
		# Renamed so that the stale-lab reaper of the next run spares it.
		local kept=${LAB_DIR/sixfour-lab./sixfour-lab-kept.}
		mv "$LAB_DIR" "$kept" && echo "# lab: kept $kept" >&2
	else
		rm -rf "$LAB_DIR"
	fi
	LAB_ID=
	LAB_PIDS=()
	LAB_NS_EXTRA=()
	LAB_SIXFOURD_PID=
	LAB_UNBOUND_PID=
}

# The DNS hierarchy (zones, signing, nsd, a throwaway Unbound) is in
# lab_dns.sh, next to this file.
# shellcheck source=tests/netns/lab_dns.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab_dns.sh"

# ----------------------------------------------------------- sixfourd ----

# lab_sixfourd_start [INI]: runs `sixfourd -d` in the appl namespace and a
# private mount namespace where /usr/share/dns/root.key is the lab's trust
# anchor, /etc/sixfour is $LAB_DIR/etc (with INI as sixfour.ini, or empty:
# the embedded default) and /run/sixfour a private tmpfs. Returns when
# `sixfourctl status` answers (15 s at most); prints the log otherwise.
# Log: $LAB_DIR/sixfourd.log; pid: $LAB_SIXFOURD_PID.
# LAB_NAT64_OFFLOAD=auto|off adds that [nat64] offload to every INI (the
# translator suites run once more with offloads off: tests/netns/offload-off).
lab_sixfourd_start() {
	local -; set +eu
	local ini=${1:-} bin def
	# A lab with several appliances (lab_cluster.sh) gives each its own
	# directory: etc, state, run (bound on /run/sixfour, so the control
	# socket is reachable from outside its mount namespace) and logs.
	local dir=${LAB_NODE_DIR:-$LAB_DIR}
	bin=$(lab__bin sixfourd) || lab__bail "no sixfourd"
	if [ -n "$LAB_SIXFOURD_PID" ] && lab__alive "$LAB_SIXFOURD_PID"; then
		lab__bail "sixfourd is already running (lab_sixfourd_stop first)"
	fi
	mkdir -p "$dir/etc" "$dir/run"
	rm -f "$dir/etc/sixfour.ini"
	# The private mount puts the lab's root key over /usr/share/dns/root.key;
	# without lab_dns_start (DNS64 off) an empty file stands in for it.
	[ -e "$LAB_TRUST_ANCHOR" ] || : >"$LAB_TRUST_ANCHOR"
	if [ -n "${LAB_NAT64_OFFLOAD:-}" ]; then
		lab__with_offload "$ini" "$dir/offload.ini"
		ini=$dir/offload.ini
	fi
	local args=(-d)
	if [ -n "$ini" ]; then
		cp "$ini" "$dir/etc/sixfour.ini" || lab__bail "cannot copy $ini"
		chmod 644 "$dir/etc/sixfour.ini"
		# Explicit: the compiled-in default path may not be /etc/sixfour.
		args+=(-c /etc/sixfour/sixfour.ini)
	fi
	# Mount points must exist on the host; empty directories are harmless.
	mkdir -p /etc/sixfour /run/sixfour /var/lib/sixfour /var/log/sixfour "$dir/state"
	def=$("$bin" -h 2>/dev/null | sed -n 's/.*(default \([^;)]*\)[;)].*/\1/p' | head -1)
	cat >"$dir/sixfourd-ns.sh" <<'EOF'
# Runs inside `unshare -m` in the appl netns: the lab's view of the files.
set -e
ta=$1 conf=$2 def=$3
shift 3
if [ -f /usr/share/dns/root.key ]; then
	mount --bind "$ta" /usr/share/dns/root.key
else
	mkdir -p /usr/share/dns
	mount -t tmpfs -o mode=0755 lab-dns /usr/share/dns
	cp "$ta" /usr/share/dns/root.key
	chmod 644 /usr/share/dns/root.key
fi
mount --bind "$conf" /etc/sixfour
if [ -n "$LAB_DIR_RUN" ]; then
	mount --bind "$LAB_DIR_RUN" /run/sixfour
else
	mount -t tmpfs -o mode=0755 lab-run /run/sixfour
fi
# [general] state-directory: the lab's, kept from one start to the next.
mount --bind "$LAB_DIR_STATE" /var/lib/sixfour
# The default usage log: private, so a lab never writes the host's /var.
mount -t tmpfs -o mode=1777 lab-log /var/log/sixfour
# A sixfour.ini installed on this machine at the compiled-in path must not
# leak into the lab: hide its directory behind the lab's config dir.
case $def in
/etc/sixfour/*|"") ;;
*) [ -e "$def" ] && mount --bind "$conf" "$(dirname "$def")" ;;
esac
exec "$@"
EOF
	: >>"$dir/sixfourd.log"
	echo "=== $(date +%T) sixfourd ${args[*]}" >>"$dir/sixfourd.log"
	ip netns exec "$LAB_NS_APPL" unshare -m --propagation private \
		env LAB_DIR_STATE="$dir/state" LAB_DIR_RUN="${LAB_NODE_DIR:+$dir/run}" \
		/bin/sh "$dir/sixfourd-ns.sh" "$LAB_TRUST_ANCHOR" "$dir/etc" "$def" \
		"$bin" "${args[@]}" >>"$dir/sixfourd.log" 2>&1 </dev/null &
	LAB_SIXFOURD_PID=$!
	local end=$((SECONDS + 15))
	while ! lab_ctl status >/dev/null 2>&1; do
		if ! lab__alive "$LAB_SIXFOURD_PID" || [ $SECONDS -ge $end ]; then
			echo "# lab: sixfourd did not come up; $dir/sixfourd.log:" >&2
			sed 's/^/#   /' "$dir/sixfourd.log" >&2
			sed 's/^/#   /' "$dir/sixfourd.log" | tail -30
			lab__alive "$LAB_SIXFOURD_PID" && kill -KILL "$LAB_SIXFOURD_PID" 2>/dev/null
			wait "$LAB_SIXFOURD_PID" 2>/dev/null
			LAB_SIXFOURD_PID=
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# lab__with_offload SRC DST: SRC (empty: the embedded default) with
# [nat64] offload = $LAB_NAT64_OFFLOAD.
lab__with_offload() {
	{ [ -n "$1" ] && cat "$1"; printf '\n[nat64]\noffload = %s\n' "$LAB_NAT64_OFFLOAD"; } >"$2.tmp"
	mv "$2.tmp" "$2"
}

# lab_sixfourd_config INI: replaces the lab's sixfour.ini (for a reload).
lab_sixfourd_config() {
	local dir=${LAB_NODE_DIR:-$LAB_DIR}
	if [ -n "${LAB_NAT64_OFFLOAD:-}" ]; then
		lab__with_offload "$1" "$dir/offload.ini"
		set -- "$dir/offload.ini"
	fi
	cp "$1" "$dir/etc/sixfour.ini" && chmod 644 "$dir/etc/sixfour.ini"
}

# lab_sixfourd_stop: SIGTERM, waits (10 s at most, then SIGKILL); returns
# the daemon's exit status.
lab_sixfourd_stop() {
	local -; set +eu
	local pid=$LAB_SIXFOURD_PID rc=0 end
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	end=$((SECONDS + 10))
	while lab__alive "$pid" && [ $SECONDS -lt $end ]; do sleep 0.05; done
	if lab__alive "$pid"; then
		echo "# lab: sixfourd ignored SIGTERM for 10 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=137
	else
		wait "$pid" 2>/dev/null
		rc=$?
		[ $rc -eq 127 ] && rc=0	# not our child: gone is all we know
	fi
	LAB_SIXFOURD_PID=
	return $rc
}

# lab_ctl ARGS...: sixfourctl in sixfourd's network and mount namespaces,
# so the default control socket path works.
lab_ctl() {
	local -; set +eu
	local bin
	bin=$(lab__bin sixfourctl) || return 2
	if [ -z "$LAB_SIXFOURD_PID" ]; then
		echo "lab_ctl: sixfourd is not running" >&2
		return 2
	fi
	nsenter -t "$LAB_SIXFOURD_PID" -m -n "$bin" "$@"
}

# lab_nat64_stat EXPR: a Python expression on `sixfourctl --json nat64
# stats` (as d), e.g. "d['drops']['FILTERED']"; prints its value.
lab_nat64_stat() {
	lab_ctl --json nat64 stats |
		/usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# lab_dns_stat NAME: the DNS64 counter NAME of `sixfourctl dns stats`.
lab_dns_stat() {
	lab_ctl dns stats | awk -v k="$1" '$1 == k { print $2 }'
}

# lab_tcpdump ROLE NAME PCAP ARGS...: tcpdump in ROLE's namespace writing
# PCAP packet by packet (-U -n), with ARGS (options, then the filter);
# returns once it listens (1 after 10 s). Log: $LAB_DIR/NAME.log, pid:
# $LAB_LAST_PID.
lab_tcpdump() {
	local role=$1 name=$2 pcap=$3
	shift 3
	lab_bg "$role" "$name" tcpdump -U -n -w "$pcap" "$@"
	lab_wait 10 grep -q "listening on" "$LAB_DIR/$name.log"
}

# lab_ra_capture PCAP: captures in PCAP every Router Advertisement the
# client sees on its link to appl; returns once tcpdump listens.
lab_ra_capture() {
	lab_tcpdump client tcpdump "$1" -Z root -i "$LAB_IF_CLIENT" 'icmp6 and ip6[40] == 134'
}

# lab_ra_fields PCAP FROM FIELD...: one line per RA in PCAP after frame
# FROM: its frame number, then each tshark FIELD (tab-separated).
lab_ra_fields() {
	local pcap=$1 from=$2 f args=()
	shift 2
	for f in frame.number "$@"; do args+=(-e "$f"); done
	tshark -r "$pcap" -Y "icmpv6.type == 134 && frame.number > $from" -T fields \
		"${args[@]}" 2>/dev/null
}

# lab_client_site PREFIX ADDR: the client namespace plays a site behind
# the IPv6 PREFIX: ADDR on its loopback, and appl routes PREFIX to it.
lab_client_site() {
	lab_in client ip addr add "$2/128" dev lo
	lab_in appl ip route add "$1" via "$LAB_CLIENT6"
}

# ------------------------------------------------------------ servers ----

# lab_server_http PORT [DIR]: HTTP server on the IPv4 server (all its
# addresses); `/` serves $LAB_HTTP_TEXT unless DIR is given. Requests are
# logged (client address included) in $LAB_DIR/http-PORT.log.
lab_server_http() {
	local -; set +eu
	local port=$1 dir=${2:-$LAB_DIR/www}
	[ -n "${2:-}" ] || echo "$LAB_HTTP_TEXT" >"$LAB_DIR/www/index.html"
	lab_bg server "http-$port" python3 -u -m http.server "$port" --bind 0.0.0.0 --directory "$dir"
	lab_wait 10 lab__listening server tcp "$port" || lab__bail "http server on port $port"
}

# lab_server_echo udp|tcp PORT: echo server on the IPv4 server. Each new
# peer (address:port) is logged once in $LAB_DIR/echo-PROTO-PORT.log.
lab_server_echo() {
	local -; set +eu
	local proto=$1 port=$2
	case $proto in udp | tcp) ;; *) lab__bail "lab_server_echo: udp or tcp, not $proto" ;; esac
	[ -f "$LAB_DIR/echo.py" ] || cat >"$LAB_DIR/echo.py" <<'EOF'
import socket, sys, threading
proto, port = sys.argv[1], int(sys.argv[2])
seen = set()
def note(peer):
    if peer not in seen:
        seen.add(peer)
        print("peer %s:%d" % peer[:2], flush=True)
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    while True:
        data, peer = s.recvfrom(65535)
        note(peer)
        s.sendto(data, peer)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(128)
    def serve(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
    while True:
        c, peer = s.accept()
        note(peer)
        threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
	lab_bg server "echo-$proto-$port" python3 -u "$LAB_DIR/echo.py" "$proto" "$port"
	lab_wait 10 lab__listening server "$proto" "$port" || lab__bail "echo server $proto/$port"
}
