#!/bin/bash
# The plan rule of tests/plan-driver.sh can fail: sample tests run through
# the suite's own driver, and each verdict is read from its .trs file.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$src/tests/netns/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# verdict NAME BODY: the driver's result for a test script whose body is BODY.
verdict() {
	printf '#!/bin/bash\n%s\n' "$2" >"$tmp/$1"
	chmod +x "$tmp/$1"
	AM_TAP_AWK=${AWK:-awk} bash "$src/tests/plan-driver.sh" "$src/build-aux/tap-driver.sh" \
		--test-name "$1" --log-file "$tmp/$1.log" --trs-file "$tmp/$1.trs" \
		--color-tests no --enable-hard-errors yes --expect-failure no -- "$tmp/$1" >/dev/null 2>&1
	sed -n 's/^:global-test-result: //p' "$tmp/$1.trs"
}

tap_plan 10
tap_is "plan first, every check ran: PASS" "$(verdict first 'echo 1..2; echo ok 1; echo ok 2')" PASS
tap_is "plan at the end: ERROR" "$(verdict last 'echo ok 1; echo ok 2; echo 1..2')" ERROR
tap_is "a plan after some results: ERROR" "$(verdict middle 'echo ok 1; echo 1..2; echo ok 2')" ERROR
tap_is "no plan at all: ERROR" "$(verdict none 'echo ok 1')" ERROR
tap_is "a check missing from the plan: ERROR" "$(verdict short 'echo 1..3; echo ok 1; echo ok 2')" ERROR
tap_is "a failing exit status: ERROR" \
	"$(verdict rc 'echo 1..1; echo ok 1; exit 1')" ERROR
tap_is "a test that skips itself (plan 1..0 with a SKIP directive): SKIP" "$(verdict skip 'echo "1..0 # SKIP not here"')" SKIP
# lib.sh itself: a test that stops before its plan is done reports each
# check it left out as "not ok", at tap_done or at exit.
verdict early "top_srcdir=$src; . $src/tests/netns/lib.sh; tap_plan 3; tap_ok one true; tap_done" >/dev/null
tap_is "lib.sh: tap_done before the plan is done: the rest is not ok" \
	"$(grep -c '^not ok' "$tmp/early.log")" 2
verdict exits "top_srcdir=$src; . $src/tests/netns/lib.sh; trap tap_missing EXIT; tap_plan 3; exit 0" >/dev/null
tap_is "lib.sh: an exit with tap_missing in the trap: every planned check is not ok" \
	"$(grep -c '^not ok' "$tmp/exits.log")" 3
tap_is "lib.sh: tap_done with no plan and no check (a plan at the end would be 1..0): ERROR" \
	"$(verdict noplan "top_srcdir=$src; . $src/tests/netns/lib.sh; tap_done")" ERROR
tap_done
