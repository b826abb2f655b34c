#!/bin/bash
# Prefix health: sixfourd probes <prefix>::<target> with ICMPv6 echo through
# the data plane and synthesizes only with healthy prefixes. A responder
# namespace answers for two prefixes; taking one away withdraws it after
# `fall` failures, giving it back restores it after `rise` successes, and a
# reload keeps the verdicts. Needs root; builds and removes its namespaces.
set -u
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${top_builddir:-$src/build}
id=hc$$
A=$id-a B=$id-b
tmp=$(mktemp -d); chmod 755 "$tmp"; mkdir "$tmp/run"; chown nobody "$tmp/run"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
n=0; failed=0
check() { # check DESC CMD...
	local d=$1; shift; n=$((n + 1))
	if "$@" >/dev/null 2>&1; then echo "ok $n - $d"; else echo "not ok $n - $d"; failed=$((failed + 1)); fi
}
wait_for() { local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done; }
ctl() { "$bld/sixfourctl" -s "$tmp/run/ctl.sock" "$@"; }
state_is() { ctl health | grep -Eq "^$1 +$2 +$3"; }

ip netns add "$A"; ip netns add "$B"
ip link add "$id-a0" netns "$A" type veth peer name "$id-b0" netns "$B"
ip -n "$A" link set lo up; ip -n "$B" link set lo up
ip -n "$A" link set "$id-a0" up; ip -n "$B" link set "$id-b0" up
ip -n "$A" addr add 2001:db8:ff::1/64 dev "$id-a0" nodad
ip -n "$B" addr add 2001:db8:ff::2/64 dev "$id-b0" nodad
# 192.88.99.80 embedded in each /96 prefix lives on the responder.
ip -n "$B" addr add 2001:db8:100::c058:6350/128 dev lo
ip -n "$B" addr add 2001:db8:200::c058:6350/128 dev lo
ip -n "$A" route add 2001:db8:100::/96 via 2001:db8:ff::2
ip -n "$A" route add 2001:db8:200::/96 via 2001:db8:ff::2

write_config() { # write_config MAX_ACTIVE
	cat >"$tmp/sixfour.ini" <<INI
[general]
control-socket = $tmp/run/ctl.sock
log-level = debug
[prefix near]
prefix = 2001:db8:100::/96
probe = yes
[prefix far]
prefix = 2001:db8:200::/96
probe = yes
[prefix static]
prefix = 2001:db8:300::/96
[dns64]
enable = no
[nat64]
enable = no
[handoff]
enable = no
[health]
interval = 1s
timeout = 400ms
rise = 2
fall = 2
max-active = $1
target = 192.88.99.80
[stats]
metrics-listen = [2001:db8:ff::1]:9164
INI
	chmod 644 "$tmp/sixfour.ini"
}
write_config 3
ip netns exec "$A" "$bld/sixfourd" -d -c "$tmp/sixfour.ini" 2>"$tmp/log" &
pid=$!
check "sixfourd starts" wait_for 10 ctl status
check "probed prefixes start inactive (not ours)" sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' status | grep -q 'far .*inactive'"
check "both probed prefixes come up" wait_for 10 sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' health | grep -q '^far  *up  *active' && '$bld/sixfourctl' -s '$tmp/run/ctl.sock' health | grep -q '^near  *up  *active'"
check "status shows them active for synthesis" sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' status | grep -q 'far .*2001:db8:200::/96 active'"
check "a measured round trip is reported" sh -c "'$bld/sixfourctl' --json -s '$tmp/run/ctl.sock' health | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(p[\"rtt_us\"]>0 for p in d[\"prefixes\"] if p[\"state\"]==\"up\")'"

metrics=$(ip netns exec "$B" curl -s --max-time 5 http://[2001:db8:ff::1]:9164/metrics)
check "the metrics endpoint exports prefix activity" grep -q 'sixfour_prefix_active{name="far",prefix="2001:db8:200::/96"} 1' <<<"$metrics"
check "the metrics endpoint exports probe round trips" grep -Eq 'sixfour_health_rtt_seconds\{name="near"\} 0\.[0-9]*[1-9]' <<<"$metrics"
check "an unknown path gets 404" sh -c "ip netns exec '$B' curl -s -o /dev/null -w '%{http_code}' http://[2001:db8:ff::1]:9164/x | grep -q 404"
check "sixfourctl metrics prints the same families" sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' metrics | grep -q '^# TYPE sixfour_health_up gauge'"

# Break the far site: its probes now fail.
ip -n "$B" addr del 2001:db8:200::c058:6350/128 dev lo
check "a failing prefix is withdrawn" wait_for 10 state_is far down inactive
check "the healthy prefix stays" state_is near up active
check "the unprobed prefix stays active" sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' status | grep -q 'static .*active'"
check "the log says why" grep -q "prefix far is down" "$tmp/log"

# A reload keeps the verdict (no flap back to the default).
kill -HUP "$pid"
check "reload accepted" wait_for 5 sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' status | grep -q 'reloads: 1'"
check "after reload the failed prefix is still inactive" sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' status | grep -q 'far .*inactive'"

# Repair: it comes back after `rise` successes.
ip -n "$B" addr add 2001:db8:200::c058:6350/128 dev lo
check "a repaired prefix comes back" wait_for 10 state_is far up active

# max-active = 1: the operator's unprobed prefix alone.
write_config 1
kill -HUP "$pid"
check "max-active = 1 keeps only one prefix active" wait_for 10 sh -c "[ \$('$bld/sixfourctl' -s '$tmp/run/ctl.sock' status | grep -c ' active ') = 1 ]"
check "the unprobed prefix is the one" sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' status | grep -q 'static .* active '"
echo "1..$n"
[ $failed = 0 ] || { sed 's/^/# /' "$tmp/log" | tail -30; exit 1; }
