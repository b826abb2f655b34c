#!/bin/bash
# Prefix health: sixfourd probes <prefix>::<target> with ICMPv6 echo through
# the data plane and synthesizes only with healthy prefixes. The client
# namespace answers for two prefixes; taking one away withdraws it after
# `fall` failures, giving it back restores it after `rise` successes, a
# reload keeps the verdicts, and max-active caps the active set.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
lab_begin 18 curl
lab_dns_start	# the daemon's mount namespace wants the lab's trust anchor

# 192.88.99.80 embedded in each /96 prefix lives on the client's loopback.
NEAR6=2001:db8:100::c058:6350
FAR6=2001:db8:200::c058:6350
lab_client_site 2001:db8:100::/96 "$NEAR6"
lab_client_site 2001:db8:200::/96 "$FAR6"

write_config() { # write_config FILE MAX_ACTIVE
	cat >"$1" <<INI
[general]
log-level = debug
[prefix near]
prefix = 2001:db8:100::/96
probe = yes
[prefix far]
prefix = 2001:db8:200::/96
probe = yes
[prefix static]
prefix = 2001:db8:300::/96
$(lab_ini_disable dns64 nat64 handoff)
[health]
interval = 1s
fast-interval = 200ms
timeout = 400ms
rise = 2
fall = 2
max-active = $2
target = 192.88.99.80
[stats]
metrics-listen = [$LAB_APPL6]:9164
INI
}
state_is() { lab_ctl health | grep -Eq "^$1 +$2 +$3"; }
status_has() { lab_ctl status | grep -Eq "$1"; }
both_up() { state_is far up active && state_is near up active; }
write_config "$LAB_DIR/health.ini" 3
tap_ok "sixfourd starts" lab_sixfourd_start "$LAB_DIR/health.ini"
tap_ok "probed prefixes start inactive (not ours)" status_has 'far .*inactive'
tap_ok "both probed prefixes come up" lab_wait 10 both_up
tap_ok "status shows them active for synthesis" status_has 'far .*2001:db8:200::/96 active'
rtt_ok() {
	lab_ctl --json health | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(p["rtt_us"]>0 for p in d["prefixes"] if p["state"]=="up")'
}
tap_ok "a measured round trip is reported" rtt_ok

metrics=$(lab_in client curl -s --max-time 5 "http://[$LAB_APPL6]:9164/metrics")
tap_like "the metrics endpoint exports prefix activity" "$metrics" \
	'sixfour_prefix_active\{name="far",prefix="2001:db8:200::/96"\} 1'
tap_like "the metrics endpoint exports probe round trips" "$metrics" \
	'sixfour_health_rtt_microseconds\{name="near"\} [1-9]'
tap_is "an unknown path gets 404" \
	"$(lab_in client curl -s -o /dev/null -w '%{http_code}' "http://[$LAB_APPL6]:9164/x")" 404
tap_like "sixfourctl metrics prints the same families" "$(lab_ctl metrics)" \
	'^# TYPE sixfour_health_up gauge'

# Break the far site: its probes now fail.
lab_in client ip addr del "$FAR6/128" dev lo
tap_ok "a failing prefix is withdrawn" lab_wait 10 state_is far down inactive
tap_ok "the healthy prefix stays" state_is near up active
tap_ok "the unprobed prefix stays active" status_has 'static .*active'
tap_like "the log says why" "$(cat "$LAB_DIR/sixfourd.log")" "prefix far is down \\(2 probes unanswered"

# A reload keeps the verdict (no flap back to the default).
lab_sixfourd_config "$LAB_DIR/health.ini"
kill -HUP "$LAB_SIXFOURD_PID"
tap_ok "reload accepted" lab_wait 5 status_has 'reloads: 1'
tap_ok "after reload the failed prefix is still inactive" status_has 'far .*inactive'

# Repair: it comes back after `rise` successes.
lab_in client ip addr add "$FAR6/128" dev lo
tap_ok "a repaired prefix comes back" lab_wait 10 state_is far up active

# max-active = 1: the operator's unprobed prefix alone.
write_config "$LAB_DIR/one.ini" 1
lab_sixfourd_config "$LAB_DIR/one.ini"
kill -HUP "$LAB_SIXFOURD_PID"
one_active() { [ "$(lab_ctl status | grep -c ' active ')" = 1 ]; }
tap_ok "max-active = 1 keeps only one prefix active" lab_wait 10 one_active
tap_ok "the unprobed prefix is the one" status_has 'static .* active '
tap_done
