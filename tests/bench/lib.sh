# shellcheck shell=bash
# What the lab benchmarks share, sourced once top_srcdir is set: the
# namespace lab (tests/netns/lib.sh), with top_builddir (the build whose
# programs run: build/ unless set before) exported for its helpers, then
# bench_setup and median.
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
# shellcheck source=tests/netns/lib.sh
. "$top_srcdir/tests/netns/lib.sh"

# bench_setup CMD...: exits unless every CMD is installed, then sets up the
# lab with an empty trust anchor (DNS64 is off in these benchmarks, and the
# daemon's mount namespace needs the file).
bench_setup() {
	lab_require "$@"
	lab_setup
	: >"$LAB_TRUST_ANCHOR"
}

# median VALUE...: the middle value (of an even count, the mean of the two).
median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}
