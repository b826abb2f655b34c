#!/bin/bash
# The suite's TAP driver: automake's tap-driver.sh, with one more rule.
# A test must declare its plan ("1..N", from plan(N) in C or tap_plan N in
# the bash labs) before its first result. A plan printed at the end counts
# whatever ran, so a check that silently vanished (a loop that breaks, an
# early exit) would still pass; declared up front, the driver fails a run
# whose count differs. A result before the plan is reported as
# "Bail out!", which the driver records as an ERROR.
#
#   plan-driver.sh TAP-DRIVER [DRIVER OPTIONS] -- TEST [ARGS]
#   plan-driver.sh --filter NAME TEST [ARGS]   (internal: runs TEST, checks its output)
set -u
if [ "${1:-}" = --filter ]; then
	name=$2
	shift 2
	"$@" | awk -v name="$name" '
		/^1\.\.[0-9]+/ { planned = 1 }
		/^(not )?ok([ \t]|$)/ && !planned && !told {
			print "Bail out! " name ": a TAP result came before the plan: declare it up front (plan(N) / tap_plan N)"
			told = 1
		}
		{ print; fflush() }'
	exit "${PIPESTATUS[0]}"
fi
driver=$1
shift
opts=() name=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	[ "$1" = --test-name ] && name=${2:-}
	opts+=("$1")
	shift
done
[ "${1:-}" = -- ] && shift
exec sh "$driver" "${opts[@]}" -- "$BASH" "$0" --filter "$name" "$@"
