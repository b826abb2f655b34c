#!/bin/bash
# The usage log and totals end to end (issue 12): exact packet and octet
# counts for two client /32s and for unsolicited IPv4 traffic, the log
# reopened after logrotate moved it (sixfourctl usage reopen and SIGHUP),
# a restart that keeps the month's totals, damaged state files (one bad
# line, cut short with .prev beside it, garbage), the monthly quota's
# warnings at 80/90/100 %, and a spoofed flood from 2000 IPv4 /24s against
# a small summary (the clients stay exact, the error bound is reported),
# and one from 200 spoofed client /32s (the client summary fills).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
lab_begin 51
T=$top_srcdir/tests/netns/usage_traffic.py
A6=$LAB_CLIENT6 B6=3fff:100::100	# two client /32s: 2001:db8::/32, 3fff:100::/32
A=2001:db8::/32 B=3fff:100::/32 V4=192.88.99.0/24
LOG=$LAB_DIR/log/usage.log STATE=$LAB_DIR/state/usage.state
ip -n "$LAB_NS_CLIENT" addr add "$B6/64" dev "$LAB_IF_CLIENT" nodad
ip -n "$LAB_NS_APPL" route add 3fff:100::/64 dev "$LAB_IF_APPL6"
write_ini() { # write_ini [EXTRA LINES for [ratelimit]]
	cat >"$LAB_DIR/usage.ini" <<INI
[general]
workers = 2
state-directory = $LAB_DIR/state
[dns64]
enable = no
[handoff]
enable = no
[stats]
interval = 2s
usage-log = $LOG
top-prefixes = 64
[ratelimit]
$*
INI
	[ -f "$LAB_DIR/etc/sixfour.ini" ] && lab_sixfourd_config "$LAB_DIR/usage.ini"
	return 0
}
write_ini
lab_server_echo udp 7000
lab_sixfourd_start "$LAB_DIR/usage.ini" || lab_bail "sixfourd"

# Sums of a prefix's records over log files: "pf of pt ot".
logsum() {
	/usr/bin/python3 -c '
import json, sys
t = [0, 0, 0, 0]
for f in sys.argv[2:]:
    try:
        lines = open(f).read().splitlines()
    except FileNotFoundError:
        continue
    for l in lines:
        r = json.loads(l)
        if r.get("prefix") == sys.argv[1]:
            for i, k in enumerate(("packets_from", "octets_from", "packets_to", "octets_to")):
                t[i] += r[k]
print(*t)' "$@"
}
# One figure of `sixfourctl --json usage ARGS`: uq EXPR ARGS... (d = the answer,
# p(prefix) = its entry in the top list or zeros).
uq() {
	local expr=$1
	shift
	lab_ctl --json usage --top 100 "$@" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
z = {"packets_from": 0, "octets_from": 0, "packets_to": 0, "octets_to": 0, "octets": 0}
def p(x):
    return next((t for t in d["top"] if t["prefix"] == x), z)
def counts(x):
    t = p(x)
    return "%d %d %d %d" % (t["packets_from"], t["octets_from"], t["packets_to"], t["octets_to"])
print(eval(sys.argv[1]))' "$expr"
}
logs() { echo "$LOG" "$LOG".1 "$LOG".2; }
sums_are() { [ "$(logsum "$1" $(logs))" = "$2" ]; }

# --- 1. exact counts: 100-octet datagrams from A (IPv4 out 128, IPv6 back
# 148), 300-octet ones from B (328, 348), 50-octet unsolicited IPv4 (78) ---
tap_is "A: 40 datagrams echoed" "$(lab_in client /usr/bin/python3 "$T" echo "$LAB_SERVER6" 7000 40 100 "$A6")" \
	"sent 40 echoed 40"
tap_is "B: 25 datagrams echoed" "$(lab_in client /usr/bin/python3 "$T" echo "$LAB_SERVER6" 7000 25 300 "$B6")" \
	"sent 25 echoed 25"
tap_is "30 unsolicited IPv4 datagrams sent" \
	"$(lab_in server /usr/bin/python3 "$T" unsolicited "$LAB_APPL4" 62000 30 50)" "sent 30"
lab_wait 15 sums_are "$V4" "30 2340 0 0"
tap_is "the log has A's exact counts (packets, octets, both ways)" "$(logsum "$A" $(logs))" \
	"40 5120 40 5920"
tap_is "and B's" "$(logsum "$B" $(logs))" "25 8200 25 8700"
tap_is "unsolicited IPv4 is counted by its /24" "$(logsum "$V4" $(logs))" "30 2340 0 0"
tap_is "no other prefix appears" "$(/usr/bin/python3 -c '
import json, sys
print(" ".join(sorted({json.loads(l).get("prefix", "") for l in open(sys.argv[1])} - {""})))' "$LOG")" \
	"192.88.99.0/24 2001:db8::/32 3fff:100::/32"
tap_unlike "never an address beyond the prefix" "$(cat "$LOG")" \
	'2001:db8:1::|3fff:100::100|192\.88\.99\.[1-9]'
tap_ok "every record is one JSON object with an interval, summaries with a bound" \
	/usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    assert r["start"] < r["end"], r
    assert ("prefix" in r) != ("summary" in r), r
    if "summary" in r:
        assert r["error_bound"] == 0 and r["remainder_octets"] == 0, r' "$LOG"
tap_is "usage --period day: A's counts" "$(uq 'counts("2001:db8::/32")' --period day)" \
	"40 5120 40 5920"
tap_is "the top list is by octets, with shares" \
	"$(uq '" ".join("%s=%.4f" % (t["prefix"], t["share"]) for t in d["top"])' --period day)" \
	"3fff:100::/32=0.5581 2001:db8::/32=0.3646 192.88.99.0/24=0.0773"
tap_is "exact: no remainder, no error bound" \
	"$(uq '(d["others"]["octets"], d["error_bound"], d["octets"])' --period month)" "(0, 0, 30280)"
tap_like "usage prints the table for people" "$(lab_ctl usage --top 2)" \
	"3fff:100::/32 +16900 +55\.8%.*"
tap_like "metrics export the top prefixes" "$(lab_ctl metrics)" \
	'sixfour_usage_prefix_octets\{prefix="3fff:100::/32",period="day",direction="from"\} 8200'

# --- 2. logrotate: move the log, reopen ---
mv "$LOG" "$LOG.1"
tap_like "usage reopen opens a new log" "$(lab_ctl usage reopen)" "^reopened $LOG"
lab_wait 10 test -s "$LOG"	# the next interval's records go there
size1=$(stat -c %s "$LOG.1")
lab_in client /usr/bin/python3 "$T" echo "$LAB_SERVER6" 7000 10 100 "$A6" >/dev/null
lab_wait 10 sums_are "$A" "50 6400 50 7400"
tap_is "the moved file gets nothing more" "$(stat -c %s "$LOG.1")" "$size1"
tap_is "the new one has the new traffic" "$(logsum "$A" "$LOG")" "10 1280 10 1480"
mv "$LOG" "$LOG.2"
kill -HUP "$LAB_SIXFOURD_PID"
tap_ok "SIGHUP reopens it as well" lab_wait 10 test -s "$LOG"

# --- 3. a restart keeps the month's totals ---
month=$(uq 'd["label"], counts("2001:db8::/32"), counts("3fff:100::/32"), d["octets"]')
tap_ok "sixfourd stops cleanly" lab_sixfourd_stop
tap_is "the interval cut short by the stop is logged too" "$(logsum "$A" $(logs))" "50 6400 50 7400"
lab_sixfourd_start "$LAB_DIR/usage.ini" || lab_bail "restart"
tap_is "after a restart the month's totals are the same" \
	"$(uq 'd["label"], counts("2001:db8::/32"), counts("3fff:100::/32"), d["octets"]')" "$month"
lab_in client /usr/bin/python3 "$T" echo "$LAB_SERVER6" 7000 5 300 "$B6" >/dev/null
tap_is "and new traffic adds to them" "$(uq 'counts("3fff:100::/32")')" "30 9840 30 10440"
tap_like "the restart said what it read" "$(cat "$LAB_DIR/sixfourd.log")" \
	"usage: state of .* read: 3 prefixes for day"

# --- 4. damaged state files ---
total=$(uq 'd["octets"]')
a_month=$(uq 'p("2001:db8::/32")["octets"]')
lab_sixfourd_stop
sed -i '/^item month 2001:db8::\/32 /s/ 50 / 51 /' "$STATE"	# its CRC no longer matches
lab_sixfourd_start "$LAB_DIR/usage.ini" || lab_bail "start with a damaged line"
tap_like "a damaged line is reported with what was lost" "$(cat "$LAB_DIR/sixfourd.log")" \
	"is damaged \(1 bad lines\): .*$a_month octets\) of the month no longer attributed"
tap_is "the month's total is kept" "$(uq 'd["octets"]')" "$total"
tap_is "the lost prefix's octets are unattributed, not gone" \
	"$(uq '(p("2001:db8::/32")["octets"], d["unattributed_octets"], d["error_bound"])')" \
	"(0, $a_month, $a_month)"
tap_ok "the damaged file is kept for the operator" test -s "$STATE.damaged"
intervals_pass() { # intervals_pass N: N more interval summaries in the log
	local n0
	n0=$(grep -c '"summary":true' "$LOG")
	lab_wait 15 sh -c "[ \$(grep -c '\"summary\":true' '$LOG') -ge $((n0 + $1)) ]"
}
intervals_pass 2	# state written twice since: .prev holds these totals
lab_sixfourd_stop
head -c 200 "$STATE" >"$STATE.cut" && mv "$STATE.cut" "$STATE"
lab_sixfourd_start "$LAB_DIR/usage.ini" || lab_bail "start with a file cut short"
tap_like "a file cut short: the previous one is read instead" "$(cat "$LAB_DIR/sixfourd.log")" \
	"usage.state is damaged \(.*cut short\); read .*usage.state.prev"
tap_is "and the month's total is still there" "$(uq 'd["octets"]')" "$total"
lab_sixfourd_stop
for f in "$STATE" "$STATE.prev"; do head -c 3000 /dev/urandom >"$f"; done
lab_sixfourd_start "$LAB_DIR/usage.ini" || lab_bail "start with garbage"
tap_like "garbage is an error, not a crash" "$(cat "$LAB_DIR/sixfourd.log")" \
	"usage.state cannot be read \(no valid header line\); the day's and month's totals start from zero"
tap_ok "sixfourd runs" lab_ctl status
tap_is "the month starts from zero" "$(uq 'd["octets"]')" 0

# --- 5. the monthly quota: 10000 octets; A's round trips are 276 ---
write_ini "monthly-quota = 10000"
tap_ok "reload with a monthly quota" lab_ctl reload
warned() { grep -c "usage: $1 % of the monthly quota used" "$LAB_DIR/sixfourd.log"; }
lab_in client /usr/bin/python3 "$T" echo "$LAB_SERVER6" 7000 30 100 "$A6" >/dev/null	# 8280: 82.8 %
tap_ok "a warning at 80 %" lab_wait 10 sh -c "[ \$(grep -c 'usage: 80 % of the monthly quota' '$LAB_DIR/sixfourd.log') = 1 ]"
tap_is "not yet at 90 %" "$(warned 90)" 0
lab_in client /usr/bin/python3 "$T" echo "$LAB_SERVER6" 7000 3 100 "$A6" >/dev/null	# 9108: 91.1 %
tap_ok "at 90 %" lab_wait 10 sh -c "[ \$(grep -c 'usage: 90 % of the monthly quota' '$LAB_DIR/sixfourd.log') = 1 ]"
lab_in client /usr/bin/python3 "$T" echo "$LAB_SERVER6" 7000 4 100 "$A6" >/dev/null	# 10212: 102 %
tap_ok "at 100 %" lab_wait 10 sh -c "[ \$(grep -c 'usage: 100 % of the monthly quota' '$LAB_DIR/sixfourd.log') = 1 ]"
tap_like "the warning names the quota, the use and who used most" \
	"$(grep 'usage: 100 % of the monthly quota' "$LAB_DIR/sixfourd.log")" \
	"\(9.97 KiB of 9.77 KiB, 10212 octets\); projected .* most used by 2001:db8::/32 100.0 %"
tap_is "usage shows the quota, the share and the projection" \
	"$(uq '(d["quota"]["bytes"], d["quota"]["used"], d["quota"]["warned_percent"], d["quota"]["projected"] >= d["quota"]["used"])')" \
	"(10000, 10212, 100, True)"
tap_like "and the metrics" "$(lab_ctl metrics)" "sixfour_quota_warned_percent 100"
lab_sixfourd_stop
lab_sixfourd_start "$LAB_DIR/usage.ini" || lab_bail "restart with a quota"
intervals_pass 2	# ticks ran
tap_is "a restart does not warn again" "$(warned 100)" 1

# --- 6. a spoofed flood of unsolicited IPv4 from 2000 /24s; the summary
# holds 16 IPv4 prefixes (top-prefixes 64 / 4) ---
a_day=$(uq 'counts("2001:db8::/32")' --period day)
packets=$(uq 'd["packets"]' --period day)
tap_is "a flood from 2000 spoofed /24s" \
	"$(lab_in server /usr/bin/python3 "$T" flood "$LAB_APPL4" 62000 2000 20 100.64.0.0/10)" "sent 2000"
flood_in() { [ "$(uq 'd["packets"]' --period day)" -ge $((packets + 2000)) ]; }
lab_wait 10 flood_in
tap_is "every flood packet is in the day's total" "$(uq 'd["packets"]' --period day)" \
	"$((packets + 2000))"
tap_is "the client's counts are untouched (a summary of their own)" \
	"$(uq 'counts("2001:db8::/32")' --period day)" "$a_day"
tap_is "16 IPv4 prefixes tracked, the rest a counted remainder with its bound" \
	"$(uq '(d["tracked"]["ipv4"], d["others"]["octets"] > 0, 0 < d["error_bound"] <= d["octets"] // 16)' --period day)" \
	"(16, True, True)"
big_interval() { # big_interval FAMILY_MIN: a summary line of that many prefixes, with a bound
	/usr/bin/python3 -c '
import json, sys
sys.exit(not any(r.get("summary") and r["prefixes"] >= int(sys.argv[2]) and r["error_bound"] > 0
                 for r in map(json.loads, open(sys.argv[1]))))' "$LOG" "$1"; }
tap_ok "the flood's interval is logged, with its error bound" lab_wait 10 big_interval 16

# --- 7. a spoofed flood from 200 client /32s: the client summary fills
# (64), and the interval's 64 prefixes are sorted for the log (glibc's qsort
# of 1 kB or more asks sysinfo for the memory size: under seccomp) ---
ip -n "$LAB_NS_APPL" route add blackhole 3fff:1000::/20	# no reply leaves the lab
packets=$(uq 'd["packets_from"]' --period day)
tap_is "a flood from 200 spoofed client /32s" \
	"$(lab_in client /usr/bin/python3 "$T" flood6 "$LAB_SERVER6" 7000 200 20 3fff:1000::/20)" "sent 200"
flood6_in() { [ "$(uq 'd["packets_from"]' --period day)" -ge $((packets + 200)) ]; }
tap_ok "every flood packet is counted from its client" lab_wait 10 flood6_in
tap_is "the client summary is full: 64 of 64 prefixes tracked" \
	"$(uq '(d["tracked"]["clients"], d["tracked"]["clients_capacity"])' --period day)" "(64, 64)"
tap_ok "the interval's 64 client prefixes are logged" lab_wait 10 big_interval 64
tap_ok "and sixfourd still runs" lab_ctl status
tap_done
