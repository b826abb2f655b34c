#!/bin/bash
# Health drives PREF64: a probed prefix is advertised in Router
# Advertisements only while its probes succeed. When the site behind it
# stops answering, the next RA withdraws it (PREF64 lifetime 0); when it
# answers again, RAs carry it again. The client namespace answers the
# probes for 2001:db8:77::/96 itself.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/netns/lib.sh"
lab_begin 9 rdisc6 tshark tcpdump
lab_dns_start	# the daemon's mount namespace wants the lab's trust anchor

IF_A=$LAB_IF_APPL6
IF_C=$LAB_IF_CLIENT
TARGET6=2001:db8:77::c058:6350	# 192.88.99.80 in 2001:db8:77::/96 (RFC 6052)
lab_client_site 2001:db8:77::/96 "$TARGET6"

cat >"$LAB_DIR/pref64.ini" <<INI
[general]
log-level = debug
[prefix remote]
prefix = 2001:db8:77::/96
advertise = yes
probe = yes
$(lab_ini_disable dns64 nat64 handoff)
[health]
interval = 1s
timeout = 400ms
rise = 1
fall = 2
target = 192.88.99.80
[hints]
interface = $IF_A
max-interval = 4s
min-interval = 3s
INI

PCAP=$LAB_DIR/ra.pcap
lab_ra_capture "$PCAP" || tap_diag "tcpdump did not start"
# pref64 [FROM_FRAME]: "frame<TAB>prefixes<TAB>scaled lifetimes" per RA.
pref64() {
	lab_ra_fields "$PCAP" "${1:-0}" icmpv6.opt.pref64.prefix icmpv6.opt.pref64.scaled_lifetime
}
last_frame() { pref64 | tail -1 | cut -f1; }
ras_after() { [ "$(pref64 "$1" | grep -c .)" -gt 0 ]; }
# advertised FROM live|zero: an RA after frame FROM whose PREF64 for our
# prefix has a non-zero (live) or zero lifetime.
advertised() {
	pref64 "$1" | awk -F'\t' -v t="$2" '{
		n = split($2, p, ","); split($3, l, ",");
		for (i = 1; i <= n; i++) if (p[i] == "2001:db8:77::") {
			if ((t == "live" && l[i] > 0) || (t == "zero" && l[i] == 0)) { print $1; exit }
		}
	}' | grep -q .
}
health_is() { lab_ctl health | grep -Eq "^remote +$1 "; }

tap_ok "sixfourd starts with a probed, advertised prefix" lab_sixfourd_start "$LAB_DIR/pref64.ini"
tap_ok "its probes succeed: the prefix is up" lab_wait 15 health_is up
lab_in client rdisc6 -1 -r 3 -w 3000 "$IF_C" >/dev/null 2>&1
tap_ok "RAs carry PREF64 2001:db8:77::/96 with a lifetime" lab_wait 15 advertised 0 live

mark=$(last_frame)
lab_in client ip addr del "$TARGET6/128" dev lo
tap_ok "the site stops answering: the prefix goes down" lab_wait 15 health_is down
tap_ok "an RA withdraws it: PREF64 lifetime 0" lab_wait 15 advertised "${mark:-0}" zero
mark2=$(last_frame)
lab_in client rdisc6 -1 -r 3 -w 3000 "$IF_C" >/dev/null 2>&1
tap_ok "a later RA arrives" lab_wait 10 ras_after "${mark2:-0}"
tap_unlike "later RAs leave it out" "$(pref64 "${mark2:-0}" | tail -1)" "2001:db8:77::"

mark=$(last_frame)
lab_in client ip addr add "$TARGET6/128" dev lo
tap_ok "the site answers again: the prefix comes back up" lab_wait 15 health_is up
lab_in client rdisc6 -1 -r 3 -w 3000 "$IF_C" >/dev/null 2>&1
tap_ok "RAs carry it again with a lifetime" lab_wait 15 advertised "${mark:-0}" live
tap_done
