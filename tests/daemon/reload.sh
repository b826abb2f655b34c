#!/bin/bash
# sixfourd's life cycle without traffic: start, status over the control
# socket, SIGHUP with a broken file keeps the running config, SIGHUP with a
# good file switches, SIGTERM exits cleanly and removes the socket.
# Runs in a private network namespace when root, so nothing touches the host.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${top_builddir:-$src/build}
. "$src/tests/netns/lib.sh"
# like DESC TEXT REGEX: tap_like over TEXT folded to one line.
like() { tap_like "$1" "$(printf '%s' "$2" | tr '\n' ' ')" "$3"; }
tmp=$(mktemp -d); chmod 755 "$tmp"
# The daemon runs as nobody after start-up; it removes its socket on exit.
mkdir "$tmp/run"; [ "$(id -u)" = 0 ] && chown nobody "$tmp/run"
pid=
cleanup() { tap_missing; [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

write_config() { # write_config PREFIX [EXTRA]
	cat >"$tmp/sixfour.ini" <<INI
[general]
control-socket = $tmp/run/ctl.sock
log-level = debug

[prefix site]
prefix = $1
translate = yes

$(lab_ini_disable dns64 nat64 handoff)

[stats]
metrics-listen = $metrics_listen

[health]
enable = no
${2:-}
INI
	chmod 644 "$tmp/sixfour.ini"
}
ctl() { "$bld/sixfourctl" -s "$tmp/run/ctl.sock" "$@"; }
status_has() { ctl status | grep -q -- "$1"; }

tap_plan 21
# As root the daemon has a network namespace of its own, with a metrics
# endpoint on its loopback (reached through nsenter); otherwise neither.
metrics_listen= run=()
if [ "$(id -u)" = 0 ]; then
	metrics_listen=127.0.0.1:9164
	run=(unshare -n sh -c 'ip link set lo up && exec "$0" "$@"')
fi
write_config 2001:db8:64::/96
"${run[@]}" "$bld/sixfourd" -d -c "$tmp/sixfour.ini" 2>"$tmp/log" &
pid=$!
tap_ok "sixfourd answers on its control socket" lab_wait 10 ctl status
out=$(ctl status); like "status names the config file" "$out" "config: $tmp/sixfour.ini"
like "status lists the prefix with its roles" "$out" "site +2001:db8:64::/96 active translate synthesize"
json=$(ctl --json status)
tap_ok "--json status is one JSON document" /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["prefixes"][0]["prefix"]=="2001:db8:64::/96"' "$json"
like "an unknown command fails and lists the commands" "$(ctl frobnicate 2>&1; echo "rc=$?")" "unknown command 'frobnicate'.*status.*rc=2"
if [ "$(id -u)" = 0 ]; then
	like "privileges dropped to nobody" "$(ps -o user= -p $pid)" "nobody"
else
	tap_skip "privileges dropped to nobody" "not root"
fi

# A broken file: reported, and the running configuration stays.
write_config 2001:db8:65::/96 "bogus-key = 1"
kill -HUP $pid
tap_ok "a broken file is reported in status" lab_wait 10 status_has 'last reload failed'
out=$(ctl status)
like "the error names FILE:LINE and the key" "$out" "sixfour.ini:21: unknown key 'bogus-key' in \[health\]"
like "the old prefix is still in force" "$out" "2001:db8:64::/96"
like "sixfourctl reload fails with the reason" "$(ctl reload; echo "rc=$?")" "reload failed.*unknown key.*rc=1"

# A good file: switched, with a new prefix-set generation.
write_config 2001:db8:66::/96
kill -HUP $pid
tap_ok "SIGHUP with a good file switches" lab_wait 10 status_has 2001:db8:66::/96
out=$(ctl status)
like "the prefix set got a new generation" "$out" "generation 2"
tap_unlike "the old prefix is gone" "$out" 2001:db8:64::

# The daemon's own metrics, through the one counter emitter.
met=$(ctl metrics)
like "metrics: reloads counted (two SIGHUPs and one sixfourctl reload)" "$met" \
	"# TYPE sixfour_reloads_total counter sixfour_reloads_total 3 "
like "metrics: the prefix gauge carries name and prefix labels" "$met" \
	'# TYPE sixfour_prefix_active gauge sixfour_prefix_active\{name="site",prefix="2001:db8:66::/96"\} 1'
if [ -n "$metrics_listen" ]; then
	scrape() { nsenter -t "$pid" -n curl -s --max-time 5 "http://$metrics_listen$1"; }
	like "the metrics endpoint answers with the same families" "$(scrape /metrics)" \
		"sixfour_uptime_seconds [0-9]+ .*sixfour_reloads_total 3 "
	like "another path gets a 404" "$(scrape /other)" "metrics are at /metrics"
	like "the endpoint counts its requests by outcome" "$(ctl metrics)" \
		'sixfour_metrics_requests_total\{result="SERVED"\} 1 sixfour_metrics_requests_total\{result="NOT_FOUND"\} 1 '
else
	for what in "the metrics endpoint" "a 404" "the endpoint's counters"; do
		tap_skip "$what" "not root: no network namespace for the endpoint"
	done
fi

kill -TERM $pid
wait $pid; rc=$?; pid=
tap_ok "SIGTERM exits 0" test "$rc" = 0
tap_ok "the control socket is removed" test ! -e "$tmp/run/ctl.sock"
like "the log says it shut down" "$(cat "$tmp/log")" "shutting down"
tap_done
