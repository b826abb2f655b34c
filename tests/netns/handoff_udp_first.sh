#!/bin/bash
# Issue 17, RFC 6146 3.5.1 next to the handoff LOOKUP (spec/handoff.md 7.4),
# with real UDP sockets: an IPv4 datagram to a pool transport address
# without a mapping is answered with Destination Unreachable, Host
# Unreachable, unless it comes from a server with a LOOKUP-capable handoff
# session that holds the entry: nat64/path.c path4() asks the server first
# and installs what it has, so the datagram is delivered and no error is
# sent. One UDP flow client -> server, its entry acked by sixfour-handoffd,
# then `flush sessions`, then:
#  - the control, a host without sixfour-handoffd (the dns namespace) to
#    that same pool address and port: Host Unreachable, no LOOKUP;
#  - the server first, to the same address and port: one LOOKUP that finds
#    the entry, the client gets the datagram, the server's socket (with
#    IP_RECVERR) no ICMP error;
#  - the server to a pool port it holds nothing on: Host Unreachable at
#    once, nothing looked up (profile P-9);
#  - after a second flush the client first: one LOOKUP-CLIENT, the flow
#    keeps its pool port, and the server's answer comes back.
#
# Why this fails if the order were wrong: sending the error before the
# LOOKUP (or without it) puts a Host Unreachable in the server socket's
# error queue ("no ICMP error" fails) and, without the LOOKUP, the client
# never gets the datagram; not asking at all also leaves LOOKUPS and HITS
# where they were. The control shows that the error itself is sent on this
# path, so "no error" is not the translator sending none at all. Tried
# once by breaking path4: the error sent before nat64_handoff_miss fails
# checks 5, 10 and 15 (two errors where one is due, and one where none
# is); no LOOKUP at all fails 9-12, 14 and 16.
# Not checked here: a LOOKUP that misses or times out drops the datagram
# (handoff/client_lookup.c release(): QUEUE_DROPS), with no error either.
#
#   client 2001:db8:1::100 --- appl (sixfourd) ==bridge== server .80 (sixfour-handoffd, app :7200)
#                                                  \=== dns .53 (app :7200, no handoffd)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/handoff_lib.sh"
lab_begin 22 nft
handoff_lab_vars
APP=7200
SESS_PROTO=udp	# sess_field: the UDP flow's entry
HSTATE=$LAB_DIR/handoffd
HLOG=$LAB_DIR/handoffd.log
mkdir -p "$HSTATE"
lab_ini_nat64 "$LAB_DIR/udp.ini" 2 '[handoff]' 'contact = noc@nat64.example'

handoffd_start || lab_bail "sixfour-handoffd did not start"
lab_sixfourd_start "$LAB_DIR/udp.ini" || lab_bail "sixfourd did not start"
coproc CONNP { exec $PY "$top_srcdir/tests/netns/handoff_udp.py" "$LAB_NS_CLIENT" \
	"$LAB_NS_SERVER" "$S4" "$S6" $APP "$LAB_NS_DNS" "$LAB_DNS4"; }
# grew NAME BEFORE: how much the handoff total NAME grew since BEFORE.
grew() { echo $(( $(htotal "$1") - $2 )); }
gone() { field_is "$CPORT" state none; }
flush() { lab_ctl flush sessions >/dev/null && lab_wait 5 gone; }

# --- one UDP flow, its entry acked by the server ---
read -r res CPORT PEER4 PPORT <<<"$(conn c2s first)"
[ "$res" = ok ] || lab_bail "the client's first datagram did not reach the server: $res"
tap_is "the server sees the client's datagram from the pool address" "$PEER4" "$T4"
tap_ok "the handoff session is established" lab_wait 10 is_state established
tap_ok "the flow's entry is acked by sixfour-handoffd" lab_wait 10 field_is "$CPORT" state acked
tap_ok "flush sessions: the entry is gone" flush

# --- the control: a host without sixfour-handoffd, same pool port ---
l0=$(htotal LOOKUPS)
conn send other control >/dev/null
tap_like "from a host without sixfour-handoffd to $T4:$PPORT: Host Unreachable (3/1)" \
	"$(conn errors other 3)" "^errors 1 3/1/$T4/$PPORT\$"
tap_is "... nothing reaches the client" "$(conn quiet 0.5)" quiet
tap_is "... and nothing is looked up" "$(grew LOOKUPS "$l0")" 0
tap_ok "... and no entry is made" gone

# --- server first: the LOOKUP before the error ---
l0=$(htotal LOOKUPS) h0=$(htotal HITS) m0=$(( $(htotal MISSES) + $(htotal TIMEOUTS) ))
tap_is "the server first, to the same pool port: the client gets the datagram" \
	"$(conn s2c server-first)" ok
tap_is "... the server's socket gets no ICMP error (no Host Unreachable)" \
	"$(conn errors server 1)" "errors 0"
tap_is "... one LOOKUP" "$(grew LOOKUPS "$l0")" 1
tap_is "... which found the entry" "$(grew HITS "$h0")" 1
tap_is "... no miss, no timeout" "$(( $(htotal MISSES) + $(htotal TIMEOUTS) - m0 ))" 0
tap_is "... the entry is back, acked, on the same pool port" \
	"$(sess_field "$CPORT" state) $(sess_field "$CPORT" pool_port)" "acked $PPORT"

# --- the server to a pool port it holds nothing on ---
OTHER=$((PPORT == 65535 ? PPORT - 1 : PPORT + 1))
l0=$(htotal LOOKUPS) o0=$(hglue OUT_OF_SCOPE)
conn send server out-of-scope $OTHER >/dev/null
tap_like "the server to $T4:$OTHER, a port it holds nothing on: Host Unreachable" \
	"$(conn errors server 3)" "^errors 1 3/1/$T4/$OTHER\$"
tap_is "... not looked up: out of scope" "$(grew LOOKUPS "$l0") $(( $(hglue OUT_OF_SCOPE) - o0 ))" "0 1"

# --- client first, after a second flush ---
tap_ok "a second flush: the entry is gone" flush
c0=$(htotal CLIENT_LOOKUPS) h0=$(htotal HITS)
read -r res _ PEER4 PEERPORT <<<"$(conn c2s client-first)"
tap_is "the client first: the server gets the datagram" "$res" ok
tap_is "... from the same pool address and port" "$PEER4:$PEERPORT" "$T4:$PPORT"
tap_is "... after one LOOKUP-CLIENT that found the entry" \
	"$(grew CLIENT_LOOKUPS "$c0") $(grew HITS "$h0")" "1 1"
tap_is "the server's answer comes back" "$(conn s2c answer)" ok
tap_is "... with no ICMP error at the server" "$(conn errors server 1)" "errors 0"

conn quit >/dev/null
lab_sixfourd_stop
tap_done
