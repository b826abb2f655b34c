#!/bin/bash
# Dynamic DNS64 for resolvers we do not run: a health-only sixfourd (DNS64
# and NAT64 off) in the appl namespace probes three NAT64 sites with the
# default [health] timing -- two sixfourd translators and a TAYGA -- and
# keeps a BIND include and an Unbound include up to date, reloading a real
# named (rndc reconfig) and a real Unbound (unbound-control reload) that
# the client uses. Checked: named's AAAA answers carry exactly the active
# prefixes and Unbound's the best one; a site that dies (blackholed, or its
# translator killed) leaves the answers within 5 s and comes back within
# 10 s of its return (three rounds, times reported); with no site healthy
# the [export] fallback is written; a failing reload command is logged and
# retried; every fragment written passes named-checkconf/unbound-checkconf.
#
#   client -- appl (sixfourd health-only, named, unbound) --+-- site1 (sixfourd NAT64)
#                 \                                          +-- site2 (sixfourd NAT64)
#                  \== bridge == server (192.88.99.80)        +-- site3 (TAYGA)
#   the sites reach the server over the IPv4 bridge.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
lab_require_root
lab_require named named-checkconf rndc rndc-confgen unbound unbound-control \
	unbound-checkconf tayga nft dig
tap_plan 40
lab_setup
lab_dns_start

bin=$(lab__bin sixfourd) || lab_bail "no sixfourd"
TARGET4=$LAB_SERVER4		# probed through every prefix
SUFFIX=c058:6350		# 192.88.99.80 in the low 32 bits of a /96
EXP=$LAB_DIR/export		# written by sixfourd as nobody
mkdir -p "$EXP" "$LAB_DIR/named" "$LAB_DIR/frags"
chown nobody "$EXP"
chmod 755 "$EXP" "$LAB_DIR/named"

# --- three NAT64 sites, each a namespace with an IPv6 link to appl and a
# port on appl's IPv4 bridge ---
SITES=(site1 site2 site3)
site_ns() { echo "$LAB_ID-$1"; }
site_prefix() { echo "2001:db8:64:${1#site}::"; }	# site1 -> 2001:db8:64:1::
for s in "${SITES[@]}"; do
	k=${s#site}
	ns=$(site_ns "$s")
	lab__must ip netns add "$ns"
	lab_at_exit "ip netns del $ns"
	lab__must ip -n "$ns" link set lo up
	lab__run ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1
	lab__must ip link add "${LAB_ID}x$k" netns "$LAB_NS_APPL" type veth peer name "${LAB_ID}y$k" netns "$ns"
	lab__must ip link add "${LAB_ID}v$k" netns "$LAB_NS_APPL" type veth peer name "${LAB_ID}w$k" netns "$ns"
	lab__must ip -n "$LAB_NS_APPL" link set "${LAB_ID}v$k" master "$LAB_IF_APPL4"
	lab__run ip netns exec "$LAB_NS_APPL" sysctl -qw "net.ipv6.conf.${LAB_ID}v$k.disable_ipv6=1"
	lab__must ip -n "$LAB_NS_APPL" addr add "2001:db8:f0:$k::1/64" dev "${LAB_ID}x$k" nodad
	lab__must ip -n "$ns" addr add "2001:db8:f0:$k::2/64" dev "${LAB_ID}y$k" nodad
	lab__must ip -n "$ns" addr add "192.88.99.10$k/24" dev "${LAB_ID}w$k"
	for l in "${LAB_ID}x$k@$LAB_NS_APPL" "${LAB_ID}v$k@$LAB_NS_APPL" "${LAB_ID}y$k@$ns" "${LAB_ID}w$k@$ns"; do
		lab__must ip -n "${l#*@}" link set "${l%@*}" up
	done
	lab__must ip -n "$LAB_NS_APPL" -6 route add "$(site_prefix "$s")/96" via "2001:db8:f0:$k::2"
	lab__must ip -n "$ns" route add default via "$LAB_APPL4"
	lab_wait 10 ip netns exec "$ns" ping -c1 -W0.2 "$LAB_SERVER4" || lab_bail "$s cannot reach the server"
done

# site1 and site2: sixfourd translators (shared-address pool4: their own
# bridge address). site3: TAYGA with a dynamic pool routed back to it.
site_pid=()
site_start() { # site_start site1|site2
	local s=$1 k=${1#site} ns
	ns=$(site_ns "$s")
	cat >"$LAB_DIR/$s.ini" <<EOF
[general]
control-socket = $LAB_DIR/$s.sock
[prefix $s]
prefix = $(site_prefix "$s")/96
translate = yes
[dns64]
enable = no
[nat64]
device = sfnat$k
[handoff]
enable = no
[health]
enable = no
EOF
	chmod 644 "$LAB_DIR/$s.ini"
	ip netns exec "$ns" "$bin" -d -c "$LAB_DIR/$s.ini" >>"$LAB_DIR/$s.log" 2>&1 </dev/null &
	site_pid[$k]=$!
	lab_at_exit "kill ${site_pid[$k]}"
	lab_wait 10 "$(lab__bin sixfourctl)" -s "$LAB_DIR/$s.sock" status
}
tap_ok "site1's translator starts" site_start site1
tap_ok "site2's translator starts" site_start site2
ns3=$(site_ns site3)
mkdir -p "$LAB_DIR/tayga"
cat >"$LAB_DIR/tayga.conf" <<EOF
tun-device sftayga
ipv4-addr 198.18.64.1
prefix $(site_prefix site3)/96
dynamic-pool 198.18.64.0/24
data-dir $LAB_DIR/tayga
EOF
lab__must ip netns exec "$ns3" tayga -c "$LAB_DIR/tayga.conf" --mktun
lab__must ip -n "$ns3" link set sftayga up
lab__must ip -n "$ns3" addr add 198.18.64.254/32 dev sftayga
lab__must ip -n "$ns3" route add 198.18.64.0/24 dev sftayga
lab__must ip -n "$ns3" -6 route add "$(site_prefix site3)/96" dev sftayga
lab__must ip -n "$LAB_NS_APPL" route add 198.18.64.0/24 via 192.88.99.103
ip netns exec "$ns3" tayga -c "$LAB_DIR/tayga.conf" -d >>"$LAB_DIR/tayga.log" 2>&1 </dev/null &
tayga_pid=$!
lab_at_exit "kill $tayga_pid"
for s in "${SITES[@]}"; do
	tap_ok "$s translates: the server answers a ping through $(site_prefix "$s")" \
		lab_wait 10 lab_in appl ping -6 -c1 -W0.5 "$(site_prefix "$s")$SUFFIX"
done

# --- named, the resolver we do not run, on the client's resolver address ---
lab__must rndc-confgen -a -c "$LAB_DIR/rndc.key" -k rndc-key
chmod 644 "$LAB_DIR/rndc.key"
RNDC="rndc -k $LAB_DIR/rndc.key -s 127.0.0.1 -p 953"
cat >"$LAB_DIR/named.conf" <<EOF
include "$LAB_DIR/rndc.key";
controls { inet 127.0.0.1 port 953 allow { 127.0.0.1; } keys { rndc-key; }; };
options {
	directory "$LAB_DIR/named";
	pid-file "$LAB_DIR/named/named.pid";
	listen-on { 127.0.0.1; };
	listen-on-v6 { $LAB_APPL6; };
	recursion yes;
	allow-query { any; };
	allow-recursion { any; };
	dnssec-validation no;
	include "$EXP/named.conf.dns64";
};
zone "." { type hint; file "$LAB_ROOT_HINTS"; };
EOF
# --- unbound, the other resolver we do not run ---
cat >"$LAB_DIR/unbound.conf" <<EOF
server:
	interface: 127.0.0.1@5300
	access-control: 0.0.0.0/0 allow
	username: ""
	chroot: ""
	directory: "$LAB_DIR"
	pidfile: "$LAB_DIR/unbound.pid"
	use-syslog: no
	num-threads: 1
	do-ip6: no
	root-hints: "$LAB_ROOT_HINTS"
	module-config: "iterator"
include: "$EXP/unbound-dns64.conf"
remote-control:
	control-enable: yes
	control-interface: 127.0.0.1
	control-port: 8953
	control-use-cert: no
EOF
chmod 644 "$LAB_DIR/named.conf" "$LAB_DIR/unbound.conf"

# --- the health-only sixfourd: the defaults of [health], three prefixes ---
cat >"$LAB_DIR/health.ini" <<EOF
[general]
log-level = info
[prefix site1]
prefix = $(site_prefix site1)/96
probe = yes
[prefix site2]
prefix = $(site_prefix site2)/96
probe = yes
[prefix site3]
prefix = $(site_prefix site3)/96
probe = yes
[dns64]
enable = no
exclude = 0::/3, 4000::/2, 8000::/1, 2001:db8::/32, ::ffff:0:0/96
[nat64]
enable = no
[handoff]
enable = no
[health]
target = $TARGET4
max-active = 3
[export]
bind = $EXP/named.conf.dns64
bind-reload = $RNDC reconfig
unbound = $EXP/unbound-dns64.conf
unbound-reload = unbound-control -c $LAB_DIR/unbound.conf reload
fallback = site2
retry-interval = 1s
EOF
tap_ok "the health-only sixfourd starts" lab_sixfourd_start "$LAB_DIR/health.ini"
have_files() { [ -s "$EXP/named.conf.dns64" ] && [ -s "$EXP/unbound-dns64.conf" ]; }
tap_ok "it writes the BIND and Unbound includes" lab_wait 15 have_files
tap_is "the BIND include is sixfourctl export bind" "$(cat "$EXP/named.conf.dns64")" "$(lab_ctl export bind)"

# Every distinct fragment is kept for named-checkconf at the end.
keep_frags() {
	local h
	h=$(md5sum <"$EXP/named.conf.dns64" | cut -c1-12)
	cp "$EXP/named.conf.dns64" "$LAB_DIR/frags/bind-$h"
	h=$(md5sum <"$EXP/unbound-dns64.conf" | cut -c1-12)
	cp "$EXP/unbound-dns64.conf" "$LAB_DIR/frags/unbound-$h"
}
keep_frags
lab_bg appl named named -g -c "$LAB_DIR/named.conf"
named_pid=$LAB_LAST_PID
tap_ok "named starts with the include" lab_wait 15 lab__listening appl udp 53
lab_bg appl unbound unbound -d -c "$LAB_DIR/unbound.conf"
tap_ok "unbound starts with the include" lab_wait 15 lab__listening appl udp 5300

# prefixes RESOLVER: the /96 prefixes in the AAAA answer for www.example,
# sorted, on one line ("-" when there is none).
prefixes() {
	local out
	if [ "$1" = named ]; then
		out=$(lab_in client dig +short +time=1 +tries=1 @"$LAB_APPL6" www.example AAAA 2>/dev/null)
	else
		out=$(lab_in appl dig +short +time=1 +tries=1 -p 5300 @127.0.0.1 www.example AAAA 2>/dev/null)
	fi
	out=$(printf '%s\n' "$out" | grep "$SUFFIX\$" | sed "s/$SUFFIX\$//" | sort | tr '\n' ' ')
	echo "${out:--}"
}
want_all="$(site_prefix site1) $(site_prefix site2) $(site_prefix site3) "
answers_are() { [ "$(prefixes "$1")" = "$2" ]; }
active_set() { # the active prefixes as sixfourctl status lists them, sorted
	local out
	out=$(lab_ctl status | awk '$3 == "active" && $2 ~ /::\/96$/ { sub("/96", "", $2); print $2 }' | sort | tr '\n' ' ')
	echo "${out:--}"
}
all_up() { [ "$(active_set)" = "$want_all" ]; }
tap_ok "all three sites come up" lab_wait 15 all_up
lab_wait 15 answers_are named "$want_all"
tap_is "named's AAAA answers carry exactly the three active prefixes" "$(prefixes named)" "$want_all"
tap_is "... as sixfourctl status lists them" "$(active_set)" "$want_all"
unb=$(prefixes unbound)
tap_like "unbound's answers carry one of them, the best" "$unb" '^2001:db8:64:[123]:: $'
tap_like "the Unbound include says it is the best healthy prefix" \
	"$(cat "$EXP/unbound-dns64.conf")" "the best healthy prefix of 3 active"
keep_frags

# --- a site dies and comes back: three rounds, times measured ---
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# until_answer RESOLVER WANT SECONDS: polls (every 0.1 s); prints the time taken.
until_answer() {
	local t0 end
	t0=$(now)
	end=$(awk -v t="$t0" -v s="$3" 'BEGIN { printf "%.1f", t + s }')
	while ! answers_are "$1" "$2"; do
		awk -v e="$end" -v n="$(now)" 'BEGIN { exit !(n > e) }' && { echo fail; return 1; }
		sleep 0.1
	done
	elapsed "$t0" "$(now)"
}
blackhole() { # blackhole SITE on|off: the site drops what comes for its prefix
	local ns
	ns=$(site_ns "$1")
	if [ "$2" = on ]; then
		ip netns exec "$ns" nft -f - <<EOF
table inet dead {
	chain in {
		type filter hook prerouting priority -300;
		ip6 daddr $(site_prefix "$1")/96 drop
	}
}
EOF
	else
		ip netns exec "$ns" nft delete table inet dead
	fi
}
want_no1="$(site_prefix site2) $(site_prefix site3) "
down_times=() up_times=()
for round in 1 2 3; do
	if [ $round = 2 ]; then
		kill -KILL "${site_pid[1]}"	# the translator dies with its TUN
		wait "${site_pid[1]}" 2>/dev/null
	else
		blackhole site1 on
	fi
	d=$(until_answer named "$want_no1" 5)
	down_times+=("$d")
	tap_ok "round $round: site1 leaves named's answers within 5 s (${d} s)" test "$d" != fail
	keep_frags
	if [ $round = 2 ]; then
		t0=$(now)
		site_start site1 >/dev/null 2>&1
	else
		blackhole site1 off
	fi
	u=$(until_answer named "$want_all" 10)
	[ $round = 2 ] && [ "$u" != fail ] && u=$(elapsed "$t0" "$(now)")
	up_times+=("$u")
	tap_ok "round $round: site1 is back in named's answers within 10 s (${u} s)" test "$u" != fail
	keep_frags
done
tap_diag "withdrawn after: ${down_times[*]} s; back after: ${up_times[*]} s (defaults:" \
	"interval 2s, fast-interval 150ms, timeout 1s, fall 6, rise 3; round 2 kills the" \
	"translator and times its return from its restart)"
log=$(cat "$LAB_DIR/sixfourd.log")
tap_like "the log says why site1 went down" "$log" "prefix site1 is down \\(6 probes unanswered in a row\\)"
hl=$(lab_ctl health)
tap_like "sixfourctl health says when and why site1 last changed" "$hl" \
	"^site1 +up +active.*"$'\n'"  since [0-9T:-]+Z \\([0-9.]+ s ago\\): 3 probes answered in a row"
met=$(lab_ctl metrics)
tap_like "metrics carry when and why" "$met" \
	'^sixfour_health_last_change_timestamp_seconds\{reason="answered",name="site1"\} [0-9]{10}'
# Up at start, then down and up in each of three rounds.
tap_like "metrics count verdict changes" "$met" '^sixfour_health_changes_total\{name="site1"\} 7$'

# The translator itself knows when its data path is down: site1 loses its
# only IPv4 address (its pool4), and says so without waiting for probes.
site1ctl() { "$(lab__bin sixfourctl)" -s "$LAB_DIR/site1.sock" "$@"; }
site1_is() { site1ctl health | grep -Eq "^site1 +$1 +$2"; }
ip -n "$(site_ns site1)" addr del 192.88.99.101/24 dev "${LAB_ID}w1"
tap_ok "site1's own translator withdraws its prefix when pool4 has no address" \
	lab_wait 5 site1_is down inactive
tap_like "... and says why" "$(site1ctl health)" \
	"data path is down: no IPv4 address for pool4"
ip -n "$(site_ns site1)" addr add 192.88.99.101/24 dev "${LAB_ID}w1"
ip -n "$(site_ns site1)" route replace default via "$LAB_APPL4"
tap_ok "the address is back: the prefix with it" lab_wait 5 site1_is '(up|unprobed)' active
lab_wait 15 answers_are named "$want_all"

# Unbound follows the best prefix: blackhole the one it uses.
best=$(prefixes unbound)
best_site=site${best:12:1}
blackhole "$best_site" on
moved() { local p; p=$(prefixes unbound); [ "$p" != "$best" ] && [ "$p" != - ]; }
tap_ok "unbound moves to another prefix when its site dies" lab_wait 10 moved
tap_unlike "... and no longer answers with the dead one" "$(prefixes unbound)" "^${best}\$|^-\$"
keep_frags
blackhole "$best_site" off
lab_wait 10 answers_are named "$want_all"

# --- no site healthy: the fallback (site2) is exported ---
# The sites die one by one: for a moment site2 may be the one healthy site,
# with the same answer from named, so wait for the file to say fallback.
for s in "${SITES[@]}"; do blackhole "$s" on; done
says_fallback() {
	grep -q 'No prefix is healthy: these are the \[export\] fallback prefixes' \
		"$EXP/named.conf.dns64"
}
tap_ok "no site healthy: the include says it is the fallback" lab_wait 10 says_fallback
tap_ok "... and named answers with the fallback site2 alone" \
	lab_wait 10 answers_are named "$(site_prefix site2) "
tap_ok "unbound gets the fallback too" lab_wait 10 answers_are unbound "$(site_prefix site2) "
keep_frags
for s in "${SITES[@]}"; do blackhole "$s" off; done
tap_ok "the sites come back" lab_wait 10 answers_are named "$want_all"

# --- a failing reload: named is down while a verdict changes ---
kill -TERM "$named_pid"
lab_wait 10 sh -c "! kill -0 $named_pid 2>/dev/null"
fails0=$(lab_ctl --json export status | /usr/bin/python3 -c 'import json,sys; print([f for f in json.load(sys.stdin)["files"] if f["kind"]=="bind"][0]["counters"]["reload_failures"])')
blackhole site3 on
failed_more() {
	local n
	n=$(lab_ctl --json export status | /usr/bin/python3 -c 'import json,sys; print([f for f in json.load(sys.stdin)["files"] if f["kind"]=="bind"][0]["counters"]["reload_failures"])')
	[ "$n" -ge $((fails0 + 2)) ]
}
tap_ok "rndc reconfig fails while named is down: counted, and retried" lab_wait 20 failed_more
tap_like "the failure is logged" "$(cat "$LAB_DIR/sixfourd.log")" "export bind: .*rndc.* failed \\(exit status 1.*\\); retrying in"
tap_like "export status shows the failure" "$(lab_ctl export status)" "^bind .*reload-pending.*last error: exit status 1"
lab_bg appl named named -g -c "$LAB_DIR/named.conf"
named_pid=$LAB_LAST_PID
ok_again() { lab_ctl export status | grep -q '^bind .* ok '; }
tap_ok "named is back: a retry succeeds" lab_wait 20 ok_again
tap_ok "named answers without the dead site3" lab_wait 10 answers_are named "$(site_prefix site1) $(site_prefix site2) "
keep_frags
blackhole site3 off

# --- every fragment written passes the resolvers' own checks ---
bad=0 nb=0 nu=0
for f in "$LAB_DIR"/frags/bind-*; do
	nb=$((nb + 1))
	printf 'options {\n\tdirectory "%s";\n\tinclude "%s";\n};\n' "$LAB_DIR/named" "$f" >"$LAB_DIR/check.conf"
	named-checkconf "$LAB_DIR/check.conf" >>"$LAB_DIR/checkconf.log" 2>&1 || { bad=1; tap_diag "named-checkconf refuses $f"; }
done
for f in "$LAB_DIR"/frags/unbound-*; do
	nu=$((nu + 1))
	sed "s|include: .*|include: \"$f\"|" "$LAB_DIR/unbound.conf" >"$LAB_DIR/check-unbound.conf"
	unbound-checkconf "$LAB_DIR/check-unbound.conf" >>"$LAB_DIR/checkconf.log" 2>&1 || { bad=1; tap_diag "unbound-checkconf refuses $f"; }
done
tap_diag "$nb BIND and $nu Unbound fragments checked"
tap_ok "named-checkconf and unbound-checkconf accept every fragment ($nb + $nu)" \
	test $bad = 0 -a "$nb" -ge 4 -a "$nu" -ge 3
tap_done
