#!/bin/bash
# Host hints end to end: sixfourd's Router Advertisements and stateless
# DHCPv6 server on the appl side of the client link, checked with real
# clients (rdisc6, dhclient -6 -S), decoded by tshark, attacked with
# malformed packets (scapy), and across a reload and a shutdown.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
lab_require_root
lab_require rdisc6 tshark tcpdump dhclient
tap_plan 60
lab_setup
lab_dns_start	# the daemon's mount namespace wants the lab's trust anchor
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}

IF_A=$LAB_IF_APPL6
IF_C=$LAB_IF_CLIENT
MAX_INTERVAL=30
PREF64_SCALED=$(((3 * MAX_INTERVAL + 7) / 8))	# RFC 8781 4.1: 3 x max, rounded up
DNS_LIFETIME=$((3 * MAX_INTERVAL))

write_ini() { # write_ini FILE ADVERTISE_LOCAL [INTERFACES]
	local ifaces=${3-$IF_A}
	cat >"$1" <<EOF
[general]
log-level = debug
[prefix wkp]
prefix = 64:ff9b::/96
advertise = yes
[prefix local]
prefix = 2001:db8:64::/64
advertise = $2
$(lab_ini_disable dns64 nat64 handoff)
[health]
enable = no
[hints]
interface = $ifaces
max-interval = ${MAX_INTERVAL}s
min-interval = 10s
dnssl = lab.example, example.org
EOF
}

# Every RA the client sees, from before sixfourd starts to after it stops.
PCAP=$LAB_DIR/ra.pcap
lab_ra_capture "$PCAP" || tap_diag "tcpdump did not start"

# ra_fields [FROM_FRAME]: one line per RA after FROM_FRAME: frame, router
# lifetime, O flag, PREF64 prefixes, PLCs, scaled lifetimes, RDNSS,
# RDNSS lifetime, DNSSL.
ra_fields() {
	lab_ra_fields "$PCAP" "${1:-0}" icmpv6.nd.ra.router_lifetime icmpv6.nd.ra.flag.o \
		icmpv6.opt.pref64.prefix icmpv6.opt.pref64.plc icmpv6.opt.pref64.scaled_lifetime \
		icmpv6.opt.rdnss icmpv6.opt.rdnss.lifetime icmpv6.opt.dnssl
}
ra_count() { ra_fields "${1:-0}" | grep -c .; }
has_ra_after() { [ "$(ra_count "$1")" -gt 0 ]; }
last_frame() { ra_fields | tail -1 | cut -f1; }

write_ini "$LAB_DIR/hints.ini" yes
tap_ok "sixfourd starts with [hints] on $IF_A" lab_sixfourd_start "$LAB_DIR/hints.ini"

# --- RA content through a real client: rdisc6 solicits and prints it ---
out=$(lab_in client rdisc6 -1 -r 3 -w 4000 "$IF_C" 2>&1)
tap_like "rdisc6 gets an RA" "$out" "Hop limit"
tap_like "rdisc6: RDNSS is our address on the link" "$out" "Recursive DNS server +: $LAB_APPL6\$"
tap_like "rdisc6: DNSSL lab.example example.org" "$out" \
	"DNS search list +: lab\.example example\.org *\$"
tap_like "rdisc6: RDNSS/DNSSL lifetime 3 x max-interval" "$out" \
	"DNS search list lifetime: +$DNS_LIFETIME "
tap_like "rdisc6: router lifetime 0 (hints only)" "$out" "Router lifetime +: +0 "
tap_like "rdisc6: O flag set (DHCPv6 on)" "$out" "Stateful other conf\. +: +Yes"
tap_like "rdisc6: the answer came from our link-local address" "$out" "from fe80::"

# --- PREF64 decoded by tshark ---
lab_wait 10 has_ra_after 0
first=$(ra_fields | head -1)
tap_diag "first RA: $first"
IFS=$'\t' read -r _ rl oflag p64 plc scaled rdnss rdnss_life dnssl <<<"$first"
tap_is "tshark: PREF64 prefixes" "$p64" "64:ff9b::,2001:db8:64::"
tap_is "tshark: PLC 0 for /96, 1 for /64" "$plc" "0x0000,0x0001"
tap_is "tshark: scaled lifetime = 3 x max-interval / 8, rounded up" "$scaled" \
	"$PREF64_SCALED,$PREF64_SCALED"
tap_is "tshark: RDNSS" "$rdnss" "$LAB_APPL6"
tap_is "tshark: RDNSS lifetime = 3 x max-interval" "$rdnss_life" "$DNS_LIFETIME"
tap_like "tshark: DNSSL" "$dnssl" "lab\.example.*example\.org"
tap_is "tshark: router lifetime" "$rl" "0"
tap_is "tshark: O flag" "$oflag" "1"

# --- stateless DHCPv6 through a real client ---
cat >"$LAB_DIR/dhclient-script" <<'EOF'
#!/bin/sh
# Writes what dhclient learned; touches nothing else.
env | grep -E '^(reason|new_dhcp6_)' | sort >"$(dirname "$0")/dhclient-env.tmp"
mv "$(dirname "$0")/dhclient-env.tmp" "$(dirname "$0")/dhclient-env.$reason"
exit 0
EOF
chmod 755 "$LAB_DIR/dhclient-script"
lab_bg client dhclient dhclient -6 -S -d -v -lf "$LAB_DIR/dhclient6.leases" \
	-pf "$LAB_DIR/dhclient6.pid" -sf "$LAB_DIR/dhclient-script" "$IF_C"
dhc_pid=$LAB_LAST_PID
# dhclient 4.4 reports an information-only exchange with reason RENEW6.
# Only finished files (named after the reason, in capitals), never the .tmp
# one the script is still writing.
dhc_env() { grep -ls '^new_dhcp6_name_servers=' "$LAB_DIR"/dhclient-env.[A-Z]* 2>/dev/null | head -1; }
has_dhc_env() { [ -n "$(dhc_env)" ]; }
if lab_wait 20 has_dhc_env; then
	env6=$(cat "$(dhc_env)")
	tap_diag "$env6"
	tap_like "dhclient -6 -S: DNS servers (option 23)" "$env6" \
		"^new_dhcp6_name_servers=$LAB_APPL6\$"
	tap_like "dhclient -6 -S: search list (option 24)" "$env6" \
		"^new_dhcp6_domain_search=.?lab\.example\. example\.org\..?\$"
	tap_like "dhclient -6 -S: our DUID-LL server id" "$env6" "^new_dhcp6_server_id=0:3:0:1:"
	tap_like "dhclient -6 -S: information refresh time (option 32)" "$env6" \
		"^new_dhcp6_info_refresh_time=86400\$"
else
	tap_ok "dhclient -6 -S gets an answer" false
	sed 's/^/#   /' "$LAB_DIR/dhclient.log" | tail -20
fi
kill "$dhc_pid" 2>/dev/null
wait "$dhc_pid" 2>/dev/null

# --- malformed RS and DHCPv6: counted, dropped, never answered ---
before=$(lab_ctl hints stats)
tap_ok "malformed RS/DHCPv6 are not answered, good ones still are" \
	lab_in client /usr/bin/python3 "$srcdir/tests/netns/hints_malformed.py" "$IF_C" "$LAB_CLIENT6"
stats=$(lab_ctl hints stats)
tap_diag "$stats"
# counter STATS "GROUP NAME": a value of `hints stats` (groups are "title:"
# lines, values indented under them); "ra_sent total" sums a group.
counter() {
	printf '%s\n' "$1" | awk -v g="${2% *}" -v k="${2#* }" '
		/^[^ ]/ { grp = $1; next }
		grp == g ":" && (k == "total" || $1 == k) { n += $2; f = 1 }
		END { if (f) print n }'
}
tap_ok "RS hop limit 64 counted" test "$(counter "$stats" "rs_drops hop-limit")" -ge 1
tap_ok "RS zero-length option counted" test "$(counter "$stats" "rs_drops option-zero-length")" -ge 1
tap_ok "RS option overrun counted" test "$(counter "$stats" "rs_drops option-overrun")" -ge 1
tap_ok "RS bad code counted" test "$(counter "$stats" "rs_drops bad-code")" -ge 1
tap_ok "DHCPv6 overrun counted" test "$(counter "$stats" "dhcp6_drops option-overruns-message")" -ge 2
tap_ok "DHCPv6 foreign server id counted" test "$(counter "$stats" "dhcp6_drops server-id-not-ours")" -ge 1
tap_ok "DHCPv6 from a global source counted" \
	test "$(counter "$stats" "dhcp6_drops source-not-link-local")" -ge 1
tap_ok "DHCPv6 Solicit answered with Advertise" test "$(counter "$stats" "dhcp6_answers advertise")" -ge 1
tap_ok "dhcp6_replies grew" test "$(counter "$stats" "dhcp6_answers reply")" -gt "$(counter "$before" "dhcp6_answers reply")"
out=$(lab_in client rdisc6 -1 -r 3 -w 4000 "$IF_C" 2>&1)
tap_like "after the malformed packets, RS still answered" "$out" "Recursive DNS server"

# --- a flood of valid RSs is answered at most once per 3 s (RFC 4861 6.2.6) ---
s0=$(lab_ctl hints stats)
lab_in client /usr/bin/python3 -c '
import sys
from scapy.all import Ether, IPv6, ICMPv6ND_RS, sendp
sendp(Ether(dst="33:33:00:00:00:02") / IPv6(dst="ff02::2", hlim=255) / ICMPv6ND_RS(),
      iface=sys.argv[1], count=50, inter=0.005, verbose=False)' "$IF_C" 2>/dev/null
grew() { # grew COUNTER N: COUNTER is at least N above its value in $s0
	[ "$(counter "$(lab_ctl hints stats)" "$1")" -ge $(($(counter "$s0" "$1") + $2)) ]
}
tap_ok "50 RSs arrive and are valid" lab_wait 10 grew "events rs_valid" 50
tap_ok "the flood is answered" lab_wait 10 grew "ra_sent total" 1
s1=$(lab_ctl hints stats)
tap_ok "50 RSs got at most 2 RAs so far" \
	test $(($(counter "$s1" "ra_sent total") - $(counter "$s0" "ra_sent total"))) -le 2

met=$(lab_ctl metrics)
tap_like "metrics: RAs sent, by why" "$met" '^sixfour_hints_ra_sent_total\{kind="solicited"\} [1-9]'
tap_like "metrics: RS drops by reason" "$met" \
	'^sixfour_hints_rs_dropped_total\{reason="hop-limit"\} [1-9]'

# --- export ---
exp=$(lab_ctl hints export-radvd)
tap_like "export-radvd: interface block" "$exp" "^interface $IF_A \\{"
tap_like "export-radvd: no RDNSS without [hints] rdnss, and says so" "$exp" \
	"# RDNSS: set \\[hints\\] rdnss to the resolver's address"
tap_like "export-radvd: DNSSL" "$exp" "DNSSL lab\\.example example\\.org \\{"
tap_like "export-radvd: nat64prefix" "$exp" "nat64prefix 64:ff9b::/96 \\{"
tap_is "sixfourctl export radvd gives the same fragment" "$(lab_ctl export radvd)" "$exp"
tap_like "an export format nobody knows gets the usage" "$(lab_ctl export nonsense 2>&1)" \
	"export bind\\|unbound\\|radvd\\|status"

if command -v radvd >/dev/null 2>&1; then
	printf '%s\n' "$exp" >"$LAB_DIR/radvd.conf"
	# radvd before 2.20 does not know nat64prefix: check the rest with it.
	if ! radvd --version 2>&1 | awk '/^Version/ { split($2, v, "."); exit !(v[1] > 2 || (v[1] == 2 && v[2] >= 20)) }'; then
		sed -i '/nat64prefix/,/};/d' "$LAB_DIR/radvd.conf"
	fi
	tap_ok "radvd -c accepts the exported fragment" \
		lab_in appl radvd -c -C "$LAB_DIR/radvd.conf" -l "$LAB_DIR/radvd.log" -p "$LAB_DIR/radvd.pid"
else
	tap_skip "radvd -c accepts the exported fragment" "radvd is not installed"
fi

# --- our address on the link changes: RDNSS follows (netlink events) ---
rdnss_is() { ra_fields "$mark" | awk -F'\t' -v a="$1" '$7 == a { f = 1 } END { exit !f }'; }
mark=$(last_frame)
lab_in appl ip addr add 2001:db8:1::53/64 dev "$IF_A" nodad
lab_in appl ip addr del "$LAB_APPL6/64" dev "$IF_A"
tap_ok "a new address on the link: the next RAs carry it in RDNSS" lab_wait 10 rdnss_is 2001:db8:1::53
mark=$(last_frame)
lab_in appl ip addr add "$LAB_APPL6/64" dev "$IF_A" nodad
lab_in appl ip addr del 2001:db8:1::53/64 dev "$IF_A"
tap_ok "... and the old one again when it is back" lab_wait 10 rdnss_is "$LAB_APPL6"

# --- reload withdraws a prefix with PREF64 lifetime 0 ---
mark=$(last_frame)
write_ini "$LAB_DIR/etc/sixfour.ini" no
tap_ok "reload without advertise on the /64" lab_ctl reload
withdrawal_frame() { # the first RA after $mark with PREF64 2001:db8:64:: lifetime 0
	ra_fields "$mark" | awk -F'\t' '{
		n = split($4, p, ","); split($6, l, ",");
		for (i = 1; i <= n; i++) if (p[i] == "2001:db8:64::" && l[i] == 0) { print $1; exit }
	}'
}
withdrawn() { [ -n "$(withdrawal_frame)" ]; }
tap_ok "an RA carries PREF64 2001:db8:64::/64 with lifetime 0" lab_wait 15 withdrawn
wframe=$(withdrawal_frame)
tap_diag "withdrawal in frame $wframe: $(ra_fields "$mark" | awk -F'\t' -v f="$wframe" '$1 == f')"
wline=$(ra_fields "$mark" | awk -F'\t' -v f="$wframe" '$1 == f')
tap_like "the withdrawing RA still advertises 64:ff9b:: with its lifetime" "$wline" \
	"64:ff9b::.*	.*$PREF64_SCALED"
# Solicit once more: the next RA no longer mentions the withdrawn prefix.
lab_in client rdisc6 -1 -r 3 -w 4000 "$IF_C" >/dev/null 2>&1
lab_wait 10 has_ra_after "$wframe"
next=$(ra_fields "$wframe" | tail -1)
tap_unlike "later RAs leave the withdrawn prefix out (sent once)" "$next" "2001:db8:64::"
tap_like "later RAs keep 64:ff9b::" "$next" "64:ff9b::"

final_seen() { ra_fields "$mark" | awk -F'\t' '$8 == "0" { f = 1 } END { exit !f }'; }
live_seen() { ra_fields "$mark" | awk -F'\t' '$8 == "'$DNS_LIFETIME'" { f = 1 } END { exit !f }'; }

# --- an interface removed by reload gets a final RA, and comes back ---
mark=$(last_frame)
write_ini "$LAB_DIR/etc/sixfour.ini" no ""
tap_ok "reload with no interface" lab_ctl reload
tap_ok "the removed interface gets a final RA (RDNSS lifetime 0)" lab_wait 10 final_seen
tap_unlike "stats list no interface" "$(lab_ctl hints stats)" "^interface "
mark=$(last_frame)
write_ini "$LAB_DIR/etc/sixfour.ini" no
tap_ok "reload with the interface again" lab_ctl reload
tap_ok "RAs resume on it" lab_wait 10 live_seen

# --- shutdown: final RA with zero lifetimes ---
mark=$(last_frame)
lab_sixfourd_stop
tap_is "sixfourd exits 0 on SIGTERM" "$?" 0
tap_ok "a final RA arrives" lab_wait 10 final_seen
final=$(ra_fields "$mark" | awk -F'\t' '$8 == "0"' | tail -1)
tap_diag "final RA: $final"
IFS=$'\t' read -r _ rl _ p64 _ scaled _ rdnss_life _ <<<"$final"
tap_is "final RA: router lifetime 0" "$rl" 0
tap_is "final RA: RDNSS lifetime 0" "$rdnss_life" 0
tap_is "final RA: PREF64 64:ff9b:: with scaled lifetime 0" "$p64/$scaled" "64:ff9b::/0"

tap_done
