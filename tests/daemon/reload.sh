#!/bin/bash
# sixfourd's life cycle without traffic: start, status over the control
# socket, SIGHUP with a broken file keeps the running config, SIGHUP with a
# good file switches, SIGTERM exits cleanly and removes the socket.
# Runs in a private network namespace when root, so nothing touches the host.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${top_builddir:-$src/build}
n=0; failed=0
ok() { n=$((n + 1)); if "$@" >/dev/null 2>&1; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; failed=$((failed + 1)); fi; }
like() { # like TEXT REGEX
	n=$((n + 1))
	if printf '%s' "$1" | tr '\n' ' ' | grep -Eq -- "$2"; then echo "ok $n - $desc"; else
		echo "not ok $n - $desc"; failed=$((failed + 1)); printf '%s\n' "$1" | sed 's/^/#   /'; fi
}
tmp=$(mktemp -d); chmod 755 "$tmp"
# The daemon runs as nobody after start-up; it removes its socket on exit.
mkdir "$tmp/run"; [ "$(id -u)" = 0 ] && chown nobody "$tmp/run"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

write_config() { # write_config PREFIX [EXTRA]
	cat >"$tmp/sixfour.ini" <<INI
[general]
control-socket = $tmp/run/ctl.sock
log-level = debug

[prefix site]
prefix = $1
translate = yes

[dns64]
enable = no

[nat64]
enable = no

[handoff]
enable = no

[health]
enable = no
${2:-}
INI
	chmod 644 "$tmp/sixfour.ini"
}
ctl() { "$bld/sixfourctl" -s "$tmp/run/ctl.sock" "$@"; }
wait_for() { # wait_for SECONDS CMD...: polls until CMD succeeds
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}

write_config 2001:db8:64::/96
run=()
[ "$(id -u)" = 0 ] && run=(unshare -n)
"${run[@]}" "$bld/sixfourd" -d -c "$tmp/sixfour.ini" 2>"$tmp/log" &
pid=$!
desc="sixfourd answers on its control socket"; ok wait_for 10 ctl status
out=$(ctl status); desc="status names the config file"; like "$out" "config: $tmp/sixfour.ini"
desc="status lists the prefix with its roles"; like "$out" "site +2001:db8:64::/96 active translate synthesize"
json=$(ctl --json status)
desc="--json status is one JSON document"; ok /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["prefixes"][0]["prefix"]=="2001:db8:64::/96"' "$json"
desc="an unknown command fails and lists the commands"; like "$(ctl frobnicate 2>&1; echo "rc=$?")" "unknown command 'frobnicate'.*status.*rc=2"
if [ "$(id -u)" = 0 ]; then
	desc="privileges dropped to nobody"; like "$(ps -o user= -p $pid)" "nobody"
fi

# A broken file: reported, and the running configuration stays.
write_config 2001:db8:65::/96 "bogus-key = 1"
kill -HUP $pid
desc="a broken file is reported in status"; ok wait_for 10 sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' status | grep -q 'last reload failed'"
out=$(ctl status)
desc="the error names FILE:LINE and the key"; like "$out" "sixfour.ini:20: unknown key 'bogus-key' in \[health\]"
desc="the old prefix is still in force"; like "$out" "2001:db8:64::/96"
desc="sixfourctl reload fails with the reason"; like "$(ctl reload; echo "rc=$?")" "reload failed.*unknown key.*rc=1"

# A good file: switched, with a new prefix-set generation.
write_config 2001:db8:66::/96
kill -HUP $pid
desc="SIGHUP with a good file switches"; ok wait_for 10 sh -c "'$bld/sixfourctl' -s '$tmp/run/ctl.sock' status | grep -q '2001:db8:66::/96'"
out=$(ctl status)
desc="the prefix set got a new generation"; like "$out" "generation 2"
desc="the old prefix is gone"; ok sh -c "! printf '%s' '$out' | grep -q 2001:db8:64::"

kill -TERM $pid
wait $pid; rc=$?; pid=
desc="SIGTERM exits 0"; ok test "$rc" = 0
desc="the control socket is removed"; ok test ! -e "$tmp/run/ctl.sock"
desc="the log says it shut down"; like "$(cat "$tmp/log")" "shutting down"
echo "1..$n"
[ $failed = 0 ]
