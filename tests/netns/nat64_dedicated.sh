#!/bin/bash
# pool4 on dedicated addresses (routed to the TUN, no nftables steering)
# and two translate prefixes of different RFC 6052 lengths (/96 and /48).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_require curl nft
tap_plan 12
lab_setup
# The server reaches the pool through the appliance.
lab_in server ip route add 192.88.99.64/30 via "$LAB_APPL4"
lab_ini_nat64 "$LAB_DIR/dedicated.ini" 2
cat >>"$LAB_DIR/dedicated.ini" <<INI
[prefix wkp]
prefix = 64:ff9b::/96
translate = yes
[prefix site]
prefix = 2001:db8:64::/48
translate = yes
[nat64]
pool4 = 192.88.99.64/30
INI
lab_server_http 8080
lab_sixfourd_start "$LAB_DIR/dedicated.ini" || lab_bail "sixfourd"
embed48() { python3 -c '
import ipaddress, sys
v4 = ipaddress.IPv4Address(sys.argv[1]).packed
b = bytearray(ipaddress.IPv6Address("2001:db8:64::").packed)
b[6:8] = v4[0:2]; b[9:11] = v4[2:4]	# RFC 6052 2.2: bits 64-71 are zero
print(ipaddress.IPv6Address(bytes(b)))' "$1"; }
SITE6=$(embed48 "$LAB_SERVER4")

tap_ok "the pool is routed to the TUN" \
	sh -c "ip -n $LAB_NS_APPL route show 192.88.99.64/30 | grep -q sixfour0"
tap_ok "both prefixes are routed to the TUN" sh -c \
	"ip -n $LAB_NS_APPL -6 route | grep -q '64:ff9b::/96 dev sixfour0' && ip -n $LAB_NS_APPL -6 route | grep -q '2001:db8:64::/48 dev sixfour0'"
tap_ok "no steering rule in dedicated mode" sh -c "! ip -n $LAB_NS_APPL rule | grep -q fwmark"
tap_unlike "no reserved ports in dedicated mode" \
	"$(lab_in appl cat /proc/sys/net/ipv4/ip_local_reserved_ports)" "61001"
tap_is "curl through the /96 prefix" \
	"$(lab_in client curl -sS -m10 "http://[64:ff9b::$LAB_SERVER4]:8080/")" "$LAB_HTTP_TEXT"
tap_is "curl through the /48 prefix ($SITE6)" \
	"$(lab_in client curl -sS -m10 "http://[$SITE6]:8080/")" "$LAB_HTTP_TEXT"
tap_ok "ping through the /48 prefix" lab_in client ping -6 -c2 -W2 "$SITE6"
sess=$(lab_ctl nat64 sessions)
tap_like "sessions are mapped onto the dedicated pool" "$sess" \
	"as 192\.88\.99\.6[4-7]:[0-9]+ -> $LAB_SERVER4:8080"
tap_like "the /48 session keeps the client's view of the remote" "$sess" "\[$SITE6\]:8080"
peers=$(grep -c "192.88.99.6[4-7]" "$LAB_DIR/http-8080.log")
tap_ok "the server saw a pool address as the client" test "$peers" -ge 2
lab_sixfourd_stop
tap_ok "the pool route is gone after exit" \
	sh -c "[ -z \"\$(ip -n $LAB_NS_APPL route show 192.88.99.64/30)\" ]"
tap_ok "the /48 route is gone after exit" \
	sh -c "! ip -n $LAB_NS_APPL -6 route | grep -q '2001:db8:64::/48'"
tap_done
