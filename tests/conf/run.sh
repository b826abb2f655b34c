#!/bin/bash
# Golden config tests: for each tests/conf/NAME.ini, `sixfourd -n -v -c` must
# print NAME.out exactly (and exit 0), or print NAME.err exactly (and exit 1).
# The canonical output must also read back to itself, and the example config
# in packaging/ must pass `sixfourd -n`.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${top_builddir:-$src/build}
d=$src/tests/conf
sixfourd=$bld/sixfourd
n=0; failed=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
result() { # result OK DESC
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
for ini in "$d"/*.ini; do
	name=$(basename "$ini" .ini)
	# Error messages name the file as given; run from the folder for stable text.
	(cd "$d" && "$sixfourd" -n -v -c "$name.ini") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ -f "$d/$name.out" ]; then
		sed "s|@FILE@|$name.ini|" "$d/$name.out" >"$tmp/want"
		diff -u "$tmp/want" "$tmp/out" >"$tmp/diff"; same=$?
		[ $rc = 0 ] && [ $same = 0 ]; result $? "$name: canonical output"
		[ $same = 0 ] || sed 's/^/# /' "$tmp/diff"
		# Round trip: the printout read back prints itself again.
		cp "$tmp/out" "$tmp/again.ini"
		(cd "$tmp" && "$sixfourd" -n -v -c again.ini) | tail -n +2 >"$tmp/out2"
		tail -n +2 "$tmp/out" | diff -q - "$tmp/out2" >/dev/null
		result $? "$name: -n -v output round-trips"
	elif [ -f "$d/$name.err" ]; then
		diff -u "$d/$name.err" "$tmp/err" >"$tmp/diff"; same=$?
		[ $rc = 1 ] && [ $same = 0 ]; result $? "$name: rejected with the expected errors"
		[ $same = 0 ] || sed 's/^/# /' "$tmp/diff"
	fi
done
"$sixfourd" -n -c "$src/packaging/sixfour.ini" 2>"$tmp/err"
result $? "packaging/sixfour.ini passes sixfourd -n"
[ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err"
# The embedded default equals an empty file.
: >"$tmp/empty.ini"
"$sixfourd" -n -v -c "$tmp/empty.ini" | tail -n +2 >"$tmp/a"
(cd / && env -i "$sixfourd" -n -v 2>/dev/null) | tail -n +2 >"$tmp/b"
if [ -f /etc/sixfour/sixfour.ini ]; then
	echo "ok $((n += 1)) - embedded default # SKIP /etc/sixfour/sixfour.ini exists"
else
	diff -q "$tmp/a" "$tmp/b" >/dev/null; result $? "an empty file gives the embedded default"
fi
echo "1..$n"
[ $failed = 0 ]
