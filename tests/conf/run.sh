#!/bin/bash
# Golden config tests: for each tests/conf/NAME.ini, `sixfourd -n -v -c` must
# print NAME.out exactly (and exit 0), or print NAME.err exactly (and exit 1).
# The canonical output must also read back to itself, and the example config
# in packaging/ must pass `sixfourd -n`.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${top_builddir:-$src/build}
. "$src/tests/netns/lib.sh"
d=$src/tests/conf
sixfourd=$bld/sixfourd
tmp=$(mktemp -d); trap 'tap_missing; rm -rf "$tmp"' EXIT

# The plan, from the golden files: two checks per .out, one per .err, and
# four for the example and the embedded default.
inis=("$d"/*.ini)
outs=("$d"/*.out)
errs=("$d"/*.err)
tap_plan $((${#outs[@]} * 2 + ${#errs[@]} + 4))
tap_is "every golden config has an .out or an .err" $((${#outs[@]} + ${#errs[@]})) ${#inis[@]}

for ini in "${inis[@]}"; do
	name=$(basename "$ini" .ini)
	# Error messages name the file as given; run from the folder for stable text.
	(cd "$d" && "$sixfourd" -n -v -c "$name.ini") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ -f "$d/$name.out" ]; then
		sed "s|@FILE@|$name.ini|" "$d/$name.out" >"$tmp/want"
		tap_ok "$name: canonical output" sh -c "[ $rc = 0 ] && diff -u '$tmp/want' '$tmp/out'"
		# Round trip: the printout read back prints itself again.
		cp "$tmp/out" "$tmp/again.ini"
		(cd "$tmp" && "$sixfourd" -n -v -c again.ini) | tail -n +2 >"$tmp/out2"
		tail -n +2 "$tmp/out" >"$tmp/out1"
		tap_ok "$name: -n -v output round-trips" diff -u "$tmp/out1" "$tmp/out2"
	elif [ -f "$d/$name.err" ]; then
		tap_ok "$name: rejected with the expected errors" \
			sh -c "[ $rc = 1 ] && diff -u '$d/$name.err' '$tmp/err'"
	fi
done
tap_ok "packaging/sixfour.ini passes sixfourd -n" "$sixfourd" -n -c "$src/packaging/sixfour.ini"
# The embedded default equals an empty file; both print a real configuration
# (two empty printouts would be equal too).
: >"$tmp/empty.ini"
"$sixfourd" -n -v -c "$tmp/empty.ini" | tail -n +2 >"$tmp/a"
tap_like "an empty file prints the whole default configuration" "$(cat "$tmp/a")" '^\[prefix '
if [ -f /etc/sixfour/sixfour.ini ]; then
	tap_skip "an empty file gives the embedded default" "/etc/sixfour/sixfour.ini exists"
else
	(cd / && env -i "$sixfourd" -n -v 2>/dev/null) | tail -n +2 >"$tmp/b"
	tap_ok "an empty file gives the embedded default" diff -u "$tmp/a" "$tmp/b"
fi
tap_done
