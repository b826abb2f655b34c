#!/bin/bash
# Privilege separation end to end (issue 15): the sixfourd that handles
# network input holds no capability and runs under seccomp; its helper
# keeps CAP_NET_ADMIN alone; a reload that adds a translate prefix still
# gets its route and nftables rule, through the helper; a killed sixfourd
# leaves nothing behind. Then tests/netns/privsep_tool asks the real helper
# for what its configuration does not allow, as a compromised sixfourd
# would, and is refused.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/tests/netns/lib.sh"
lab_require nft ping pgrep
TOOL=$top_builddir/tests/netns/privsep_tool
tap_plan 36
lab_setup
[ -x "$TOOL" ] || lab_bail "$TOOL is not built"
NOBODY=$(id -u nobody)
NEW=2001:db8:64:5::
NEW6=${NEW}c058:6350	# 192.88.99.80 under the added prefix

status() { # status PID FIELD
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null
}

{
	printf '[general]\nworkers = 2\n[prefix wkp]\nprefix = 64:ff9b::/96\ntranslate = yes\n'
	lab_ini_disable dns64
} >"$LAB_DIR/a.ini"
lab_sixfourd_start "$LAB_DIR/a.ini" || lab_bail "sixfourd did not start"
PID=$LAB_SIXFOURD_PID
HELPER=$(pgrep -P "$PID" -x sixfourd-priv | head -1)
LAUNCHER=$(pgrep -P "$PID" -x sixfourd-launch | head -1)

# --- the process that parses: no capability, seccomp ---
tap_is "sixfourd: no effective capability" "$(status "$PID" CapEff)" 0000000000000000
tap_is "sixfourd: no permitted capability" "$(status "$PID" CapPrm)" 0000000000000000
tap_is "sixfourd: seccomp filter mode" "$(status "$PID" Seccomp)" 2
tap_is "sixfourd: no_new_privs" "$(status "$PID" NoNewPrivs)" 1
tap_like "sixfourd: runs as nobody" "$(status "$PID" Uid)" "^$NOBODY	$NOBODY	$NOBODY	$NOBODY$"
threads=$(ls "/proc/$PID/task" | wc -l)
bad=0
for t in /proc/"$PID"/task/*; do
	[ "$(sed -n 's/^CapEff:[[:space:]]*//p' "$t/status")" = 0000000000000000 ] &&
		[ "$(sed -n 's/^Seccomp:[[:space:]]*//p' "$t/status")" = 2 ] || bad=$((bad + 1))
done
tap_ok "every one of its $threads threads: CapEff 0 and Seccomp 2" test "$threads" -ge 3 -a "$bad" = 0

# --- the helper: CAP_NET_ADMIN (bit 12) and nothing else ---
tap_ok "the privileged helper is a child named sixfourd-priv" test -n "$HELPER"
tap_is "helper: CAP_NET_ADMIN only" "$(status "${HELPER:-0}" CapEff)" 0000000000001000
tap_is "helper: seccomp filter mode" "$(status "${HELPER:-0}" Seccomp)" 2
tap_like "helper: runs as nobody too" "$(status "${HELPER:-0}" Uid)" "^$NOBODY	"

# --- the command launcher: no capability, no new privileges ---
tap_ok "the command launcher is a child named sixfourd-launch" test -n "$LAUNCHER"
tap_is "launcher: no capability" "$(status "${LAUNCHER:-0}" CapEff)" 0000000000000000
tap_is "launcher: no_new_privs" "$(status "${LAUNCHER:-0}" NoNewPrivs)" 1

# --- a reload that adds a prefix goes through the helper ---
cp "$LAB_DIR/a.ini" "$LAB_DIR/b.ini"
printf '[prefix added]\nprefix = %s/96\ntranslate = yes\n' "$NEW" >>"$LAB_DIR/b.ini"
lab_sixfourd_config "$LAB_DIR/b.ini"
tap_like "reload with a new translate prefix" "$(lab_ctl reload 2>&1)" "^reloaded"
tap_ok "its route into the TUN, added by the helper" \
	sh -c "ip -n $LAB_NS_APPL -6 route show $NEW/96 | grep -q 'dev sixfour0 proto 64'"
tap_like "its notrack rule in the nftables table" \
	"$(lab_in appl nft list table inet sixfour)" "ip6 daddr $NEW/96 notrack"
tap_ok "the client reaches the IPv4 server through the new prefix" \
	lab_in client ping -6 -c2 -W2 "$NEW6"
tap_is "the helper is still the same process" "$(pgrep -P "$PID" -x sixfourd-priv | head -1)" "$HELPER"
lab_sixfourd_config "$LAB_DIR/a.ini"
tap_like "reload without it" "$(lab_ctl reload 2>&1)" "^reloaded"
tap_is "its route is gone" "$(ip -n "$LAB_NS_APPL" -6 route show $NEW/96)" ""

# --- sixfourd killed: the helper undoes its work and exits ---
kill -KILL "$PID"
lab_wait 10 sh -c "! kill -0 ${HELPER:-0} 2>/dev/null"
tap_ok "after SIGKILL of sixfourd its helper exits" sh -c "! kill -0 ${HELPER:-0} 2>/dev/null"
tap_is "... having removed the prefix route" "$(ip -n "$LAB_NS_APPL" -6 route show 64:ff9b::/96)" ""
tap_ok "... and the nftables table" \
	sh -c "! ip netns exec $LAB_NS_APPL nft list table inet sixfour >/dev/null 2>&1"
wait "$PID" 2>/dev/null
LAB_SIXFOURD_PID=

# --- the real helper refuses what its configuration does not allow ---
cat >"$LAB_DIR/tool.ini" <<EOF
[general]
user = nobody
[prefix wkp]
prefix = 64:ff9b::/96
translate = yes
[nat64]
device = sixfour9
[export]
bind = $LAB_DIR/tool-export
bind-reload = /bin/sh -c "exit 7"
EOF
chmod 644 "$LAB_DIR/tool.ini"
coproc TOOLP { ip netns exec "$LAB_NS_APPL" "$TOOL" "$LAB_DIR/tool.ini" 2>"$LAB_DIR/tool.err"; }
declare -A got
while read -r -t 20 name rc <&"${TOOLP[0]}"; do
	got[$name]=$rc
	[ "$name" = ready ] && break
done
tap_is "the helper brings the tool's TUN up" "${got[link]:-none}" 0
tap_is "a route for a configured prefix is done" "${got[routes-config]:-none}" 0
tap_is "a request that adds a prefix not in the configuration: EPERM" "${got[routes-foreign]:-none}" -1
tap_is "... alone: EPERM" "${got[routes-foreign-alone]:-none}" -1
tap_is "the IPv6 default route: EPERM" "${got[routes-default]:-none}" -1
tap_is "a notrack rule for it: EPERM" "${got[nft-foreign]:-none}" -1
tap_is "reserving ports of an address not in pool4: EPERM" "${got[reserve-foreign]:-none}" -1
tap_is "a malformed request: EPROTO" "${got[malformed]:-none}" -71
tap_ok "no route for the refused prefix" \
	test -z "$(ip -n "$LAB_NS_APPL" -6 route show 2001:db8:bad::/96)"
tap_like "the helper logged the refusal" "$(cat "$LAB_DIR/tool.err")" \
	"refused route 2001:db8:bad::/96: not in the configuration"
tap_is "the launcher runs a reload command of the configuration (its exit status 7)" \
	"${got[launch-configured]:-none}" 7
tap_is "... and refuses another command: EPERM" "${got[launch-foreign]:-none}" -1
printf '[prefix bad]\nprefix = 2001:db8:bad::/96\ntranslate = yes\n' >>"$LAB_DIR/tool.ini"
echo reload >&"${TOOLP[1]}"
while read -r -t 20 name rc <&"${TOOLP[0]}"; do
	got[$name]=$rc
	[ "$name" = after-reload ] && break
done
tap_is "once the file names it and the helper re-read it, the route is done" \
	"${got[after-reload]:-none}" 0
echo exit >&"${TOOLP[1]}"
wait "$TOOLP_PID" 2>/dev/null
tap_done
