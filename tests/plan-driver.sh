#!/bin/bash
# The suite's TAP driver: automake's tap-driver.sh, with one more rule.
# A test must declare its plan ("1..N", from plan(N) in C or tap_plan N in
# the bash labs) before its first result. A plan printed at the end counts
# whatever ran, so a check that silently vanished (a loop that breaks, an
# early exit) would still pass; declared up front, the driver fails a run
# whose count differs. A result before the plan is reported as
# "Bail out!", which the driver records as an ERROR.
#
# PLAN_PENDING (environment, from tests/Makefile.inc) names the tests not
# converted yet: for them the rule only prints a TAP comment. The list only
# shrinks; a new test never goes on it.
#
#   plan-driver.sh TAP-DRIVER [DRIVER OPTIONS] -- TEST [ARGS]
#   plan-driver.sh --filter NAME TEST [ARGS]   (internal: runs TEST, checks its output)
set -u
if [ "${1:-}" = --filter ]; then
	name=$2
	shift 2
	verdict="Bail out!"
	case " ${PLAN_PENDING:-} " in
	*" ${name%.sh} "* | *" $name "*) verdict="# PLAN_PENDING:" ;;
	esac
	"$@" | awk -v verdict="$verdict" '
		/^1\.\.[0-9]+/ { planned = 1 }
		/^(not )?ok([ \t]|$)/ && !planned && !told {
			print verdict " a TAP result came before the plan: declare it up front (plan(N) / tap_plan N)"
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
