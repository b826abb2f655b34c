#!/bin/bash
# The namespace lab itself (tests/netns/lib.sh): the topology passes
# traffic, the DNS hierarchy is real (the root refers to the TLD servers,
# an independent validating Unbound resolves through it with the AD bit,
# bogus and insecure zones behave as such), the helper servers answer,
# sixfourd runs in its private mount namespace, and nothing of a lab is
# left behind after a normal exit or a SIGTERM. Needs root.
set -u	# the lab must work for tests that use it
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
lab_require_root
lab_require unbound curl socat

host_ta=$(sha256sum /usr/share/dns/root.key 2>/dev/null)

tap_plan 54
lab_setup
printf 'www A %s\n' "$LAB_SERVER4" >"$LAB_DIR/small.zone"
lab_zone bogus.example "$LAB_DIR/small.zone" bogus
lab_zone insecure.example "$LAB_DIR/small.zone" unsigned
lab_zone labtld. "$LAB_DIR/small.zone"
lab_zone sub.labtld. "$LAB_DIR/small.zone"
lab_records example. "extra A $LAB_SERVER4_ALT"
lab_dns_start

# --- the hierarchy, asked directly (no recursion) ---
out=$(lab_in appl dig +norec +dnssec +time=2 @"${LAB_ROOT4[0]}" . SOA)
tap_like "a.root-servers.net answers . SOA authoritatively" "$out" 'flags: qr aa'
tap_like "the lab root zone is signed" "$out" 'IN[[:space:]]+RRSIG[[:space:]]+SOA'
silent=
for ip in "${LAB_ROOT4[@]}"; do
	lab_in appl dig +norec +short +time=2 @"$ip" . SOA | grep -q 'root-servers\.net\.' || silent+=" $ip"
done
tap_is "all 13 root server addresses answer from the appl namespace" "$silent" ""
out=$(lab_in appl dig +norec +time=2 @"${LAB_ROOT4[5]}" www.example A)
tap_like "the root answers www.example with a referral, not the answer" "$out" 'ANSWER: 0, AUTHORITY: 2'
tap_like "the referral names ns1.example with glue" "$out" \
	"ns1\.example\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+$LAB_NS1_4"
out=$(lab_in appl dig +norec +time=2 @"$LAB_ARPA4" 80.99.88.192.in-addr.arpa PTR)
tap_like "the arpa servers refer 99.88.192.in-addr.arpa to ns1.example" "$out" \
	'99\.88\.192\.in-addr\.arpa\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+NS[[:space:]]+ns1\.example\.'

# --- recursion from the root by an independent validating resolver ---
lab_unbound_start 5353 'local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault'
q() { lab_in appl dig +dnssec +time=3 +tries=2 @127.0.0.1 -p 5353 "$@"; }
# +short answers without the signatures
qs() { lab_in appl dig +short +time=3 +tries=2 @127.0.0.1 -p 5353 "$@"; }
ad='flags:[^;]* ad[ ;]'
# q_like DESC RE ARGS...: tap_like on the full answer to ARGS (kept in $out).
q_like() { local d=$1 re=$2; shift 2; out=$(q "$@"); tap_like "$d" "$out" "$re"; }
# short_is DESC EXPECTED ARGS...: tap_is on the +short answer, sorted, on one line.
short_is() { local d=$1 e=$2; shift 2; tap_is "$d" "$(qs "$@" | sort | paste -sd" ")" "$e"; }
q_like "Unbound resolves www.example A 192.88.99.80 from the lab root" \
	'^www\.example\.[[:space:]].*IN[[:space:]]+A[[:space:]]+192\.88\.99\.80$' www.example A
tap_like "... and it validates (AD bit)" "$out" "$ad"
short_is "multi.example has two A records" "$LAB_SERVER4 $LAB_SERVER4_ALT" multi.example A
short_is "dual.example has a real AAAA" "$LAB_DUAL6" dual.example AAAA
short_is "dual.example has an A" "$LAB_SERVER4" dual.example A
q_like "v6only.example has no A (NOERROR, no answer)" 'status: NOERROR.*|ANSWER: 0,' v6only.example A
tap_like "v6only.example: validated NODATA" "$out" "$ad"
short_is "v6only.example has an AAAA" "$LAB_V6ONLY6" v6only.example AAAA
short_is "cname.example is a CNAME to www.example" "$LAB_SERVER4 www.example." cname.example A
q_like "nodata.example A: NOERROR with no answer" 'ANSWER: 0,' nodata.example A
tap_like "nodata.example A: status NOERROR" "$out" 'status: NOERROR'
q_like "nosuch.example: validated NXDOMAIN" 'status: NXDOMAIN' nosuch.example A
q_like "PTR of 192.88.99.80 is www.example., validated" 'PTR[[:space:]]+www\.example\.' -x "$LAB_SERVER4"
tap_like "... with the AD bit" "$out" "$ad"
q_like "PTR of the client 2001:db8:1::100 is client.example., validated" \
	"PTR[[:space:]]+client\.example\." -x "$LAB_CLIENT6"
tap_like "... with the AD bit" "$out" "$ad"
q_like "ipv4only.arpa has 192.0.0.170" 'IN[[:space:]]+A[[:space:]]+192\.0\.0\.170' ipv4only.arpa A
tap_unlike "ipv4only.arpa is insecure (no AD), as RFC 8880 expects" "$out" "$ad"
q_like "lab_records added extra.example" "IN[[:space:]]+A[[:space:]]+$LAB_SERVER4_ALT" extra.example A
q_like "a lab_zone TLD is delegated from the root and validates" "$ad" www.labtld A
q_like "a lab_zone inside a lab_zone is delegated from it and validates" "$ad" www.sub.labtld A
tap_like "... the parent lab_zone holds its DS" "$(lab_in appl dig +norec +short +time=2 \
	@"$LAB_NS1_4" sub.labtld DS)" '^[0-9]+ 13 2 '
q_like "an unsigned lab_zone answers" "IN[[:space:]]+A[[:space:]]+$LAB_SERVER4" www.insecure.example A
tap_unlike "... without the AD bit (insecure delegation)" "$out" "$ad"
q_like "a bogus lab_zone fails validation (SERVFAIL)" 'status: SERVFAIL' www.bogus.example A
q_like "... and +cd shows its data" "IN[[:space:]]+A[[:space:]]+$LAB_SERVER4" +cd www.bogus.example A

# --- topology ---
tap_ok "the client pings 2001:db8:1::1" lab_in client ping -6 -c1 -W2 "$LAB_APPL6"
tap_ok "the server pings 192.88.99.1" lab_in server ping -c1 -W2 "$LAB_APPL4"
tap_ok "the server reaches the root servers through appl" \
	lab_in server ping -c1 -W2 "${LAB_ROOT4[12]}"
tap_is "the client is IPv6-only (no IPv4 route)" "$(lab_in client ip -4 route)" ""
tap_is "the server is IPv4-only (no IPv6 address)" "$(lab_in server ip -6 addr)" ""
tap_like "the client's resolver is 2001:db8:1::1" \
	"$(lab_in client cat /etc/resolv.conf)" '^nameserver 2001:db8:1::1$'

# --- helper servers ---
lab_server_http 80
tap_is "HTTP server on the IPv4 server serves the known page" \
	"$(lab_in appl curl -s --max-time 5 "http://$LAB_SERVER4/")" "$LAB_HTTP_TEXT"
lab_server_echo udp 7
lab_server_echo tcp 7
tap_is "UDP echo" "$(echo hello-udp | lab_in appl socat -T2 - "UDP4:$LAB_SERVER4:7")" hello-udp
tap_is "TCP echo" "$(echo hello-tcp | lab_in appl socat -T2 - "TCP4:$LAB_SERVER4:7")" hello-tcp
tap_like "the echo server logs its peers" "$(cat "$LAB_DIR/echo-udp-7.log")" \
	"^peer $LAB_APPL4:[0-9]+\$"

# --- sixfourd in its namespaces ---
if lab__bin sixfourd >/dev/null 2>&1 && lab__bin sixfourctl >/dev/null 2>&1; then
	tap_ok "sixfourd starts on the embedded default config" lab_sixfourd_start
	tap_like "sixfourctl status answers (built-in defaults)" "$(lab_ctl status 2>&1)" \
		'built-in defaults'
	tap_ok "sixfourd sees the lab trust anchor at /usr/share/dns/root.key" \
		nsenter -t "$LAB_SIXFOURD_PID" -m cmp /usr/share/dns/root.key "$LAB_TRUST_ANCHOR"
	tap_ok "... on a private /run/sixfour tmpfs" \
		nsenter -t "$LAB_SIXFOURD_PID" -m findmnt -n -t tmpfs /run/sixfour
	tap_is "this machine's /usr/share/dns/root.key is untouched" \
		"$(sha256sum /usr/share/dns/root.key 2>/dev/null)" "$host_ta"
	lab_sixfourd_stop
	tap_is "sixfourd exits 0 on SIGTERM" "$?" 0
	printf '[general]\nlog-level = debug\n' >"$LAB_DIR/test.ini"
	tap_ok "sixfourd starts with an INI" lab_sixfourd_start "$LAB_DIR/test.ini"
	tap_like "... and reads it as /etc/sixfour/sixfour.ini" "$(lab_ctl status 2>&1)" \
		'config: /etc/sixfour/sixfour\.ini'
	lab_sixfourd_stop
else
	for i in 1 2 3 4 5 6 7 8; do	# the eight checks above
		tap_skip "sixfourd in the lab ($i)" "sixfourd/sixfourctl not built in ${top_builddir:-$PWD}"
	done
fi

# --- nothing is left behind ---
# leftovers ID DIR PID...: prints what of a finished lab still exists.
leftovers() {
	local id=$1 dir=$2 p
	shift 2
	ip netns list | awk '{print $1}' | grep "^$id-" | sed 's/^/netns /'
	ip -o link | grep -o "${id}[a-z]*" | sed 's/^/link /'
	ls -d /etc/netns/"$id"-* 2>/dev/null
	[ -e "$dir" ] && echo "dir $dir"
	for p in "$@"; do lab__alive "$p" && echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"; done
}
# A lab run in a subshell records what it made: id, dir, then its pids.
record() {
	{
		echo "$LAB_ID"
		echo "$LAB_DIR"
		for ns in "$LAB_NS_CLIENT" "$LAB_NS_APPL" "$LAB_NS_SERVER" "$LAB_NS_DNS"; do
			ip netns pids "$ns"
		done
	} >"$1.tmp"
	mv "$1.tmp" "$1"
}
check_gone() { # check_gone DESC STATEFILE
	local id dir pids
	if [ ! -s "$2" ]; then
		tap_ok "$1" false
		return
	fi
	{ read -r id; read -r dir; pids=$(cat); } <"$2"
	tap_is "$1" "$(leftovers "$id" "$dir" $pids)" ""
}

state=$LAB_DIR/child1
(
	lab_setup
	lab_dns_start
	lab_server_http 8080
	record "$state"
) >/dev/null
check_gone "after a normal exit no namespace, link, /etc/netns dir, directory or process is left" \
	"$state"
tap_like "... the child lab had started processes" "$(tail -n +3 "$state" 2>/dev/null | wc -l)" '^[1-9]'

state=$LAB_DIR/child2
(
	lab_setup
	lab_dns_start
	lab_server_echo udp 9
	record "$state"
	while :; do sleep 0.1; done
) >/dev/null &
child=$!
if lab_wait 60 test -s "$state"; then
	kill -TERM "$child"
	wait "$child"
	tap_is "an interrupted lab exits with 128+SIGTERM" "$?" 143
else
	kill -KILL "$child" 2>/dev/null
	tap_ok "an interrupted lab exits with 128+SIGTERM" false
fi
check_gone "after SIGTERM nothing of the lab is left" "$state"

tap_done
