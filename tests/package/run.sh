#!/bin/bash
# tests/package/run.sh: the Debian packages end to end (issue 15), as root.
#   1. dpkg-buildpackage -us -uc -b on a copy of this source tree; lintian
#      with no error or warning;
#   2. a debootstrap minbase of Debian 12 in a temporary directory (from the
#      machine's own apt archive), the two .debs installed into it with apt
#      (plus systemd and man-db, as on any Debian 12 system): users, group,
#      conffiles, `sixfourd -n` with the installed config, `systemd-analyze
#      verify` and `security` on the installed units;
#   3. that root booted with systemd-nspawn in a network namespace of its
#      own (a veth with 192.88.99.1/24, nothing routed out): both services
#      come up under their units, confined (users, CapEff, Seccomp), with the
#      secret and journal 0600, the control socket for the operator group,
#      and a reload and a stop that do what they say.
# Needs dpkg-buildpackage, debhelper, lintian, debootstrap, systemd-nspawn
# (scripts/packages.txt); skips otherwise. scripts/check runs it after the
# rest of the suite (`make check TESTS=tests/package/run.sh`);
# SIXFOUR_NO_PACKAGE=1 skips it (about 3 minutes and ~70 MB from the archive). The debootstrap result is
# kept as $SIXFOUR_PKG_CACHE (default /var/tmp/sixfour-bookworm-minbase.tar)
# for a week, so that later runs skip it.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/netns/lib.sh"
if [ -n "${SIXFOUR_NO_PACKAGE:-}" ]; then
	echo "1..0 # SKIP SIXFOUR_NO_PACKAGE is set"
	exit 0
fi
lab_require_root
lab_require dpkg-buildpackage dh lintian debootstrap systemd-nspawn systemd-analyze apt-get
tap_plan 39
CACHE=${SIXFOUR_PKG_CACHE:-/var/tmp/sixfour-bookworm-minbase.tar}
W=$(mktemp -d /var/tmp/sixfour-package.XXXXXX)
R=$W/root
NS=sixfour-pkg-$$
NSPAWN_PID=
cleanup() {
	[ -n "$NSPAWN_PID" ] && kill "$NSPAWN_PID" 2>/dev/null && wait "$NSPAWN_PID" 2>/dev/null
	mountpoint -q "$R/proc" && umount "$R/proc"
	ip netns del "$NS" 2>/dev/null
	tap_missing
	rm -rf "$W"
}
trap cleanup EXIT
in_root() { chroot "$R" "$@"; }

# --- 1. build and lint ---
mkdir -p "$W/src/sixfour"
if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top_srcdir" && git ls-files -co --exclude-standard -z |
		xargs -0 cp --parents -t "$W/src/sixfour")
else
	(cd "$top_srcdir" && tar --exclude='./build*' --exclude=./debian/build -cf - .) |
		tar -xf - -C "$W/src/sixfour"
fi
start=$SECONDS
(cd "$W/src/sixfour" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1
rc=$?
tap_diag "dpkg-buildpackage -b: $((SECONDS - start)) s"
[ $rc = 0 ] || tail -30 "$W/build.log" | sed 's/^/# /'
tap_ok "dpkg-buildpackage -us -uc -b" test $rc = 0
debs=("$W"/src/sixfour_*_*.deb "$W"/src/sixfour-handoffd_*_*.deb)
tap_ok "it builds sixfour and sixfour-handoffd" test -f "${debs[0]}" -a -f "${debs[1]}"
lint=$(lintian --pedantic -I "$W"/src/sixfour_*.changes 2>&1 | grep -v '^running with root')
tap_unlike "lintian: no error" "$lint" "^E: "
tap_unlike "lintian: no warning" "$lint" "^W: "
[ -n "$lint" ] && tap_diag "lintian: $lint"
[ -f "${debs[0]}" ] && [ -f "${debs[1]}" ] || lab_bail "no packages"

# --- 2. a fresh Debian 12 root ---
start=$SECONDS
if [ -f "$CACHE" ] && [ -n "$(find "$CACHE" -mtime -7)" ]; then
	mkdir -p "$R" && tar -xf "$CACHE" -C "$R"
else
	mirror=$(apt-get indextargets --format '$(RELEASE) $(COMPONENT) $(IDENTIFIER) $(REPO_URI)' |
		awk '$1 == "bookworm" && $2 == "main" && $3 == "Packages" { print $4; exit }')
	[ -n "$mirror" ] || lab_bail "no bookworm main archive in this machine's apt sources"
	debootstrap --variant=minbase bookworm "$R" "$mirror" >"$W/debootstrap.log" 2>&1 ||
		{ tail -20 "$W/debootstrap.log" | sed 's/^/# /'; lab_bail "debootstrap failed"; }
	tar -cf "$CACHE.tmp" -C "$R" . && mv "$CACHE.tmp" "$CACHE"
fi
tap_diag "debootstrap minbase (or its cache): $((SECONDS - start)) s"
mount -t proc proc "$R/proc"
cp "${debs[@]}" "$R/tmp/"
start=$SECONDS
{ in_root apt-get update -q && DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q \
	--no-install-recommends "/tmp/${debs[0]##*/}" "/tmp/${debs[1]##*/}" systemd man-db; } \
	>"$W/install.log" 2>&1
rc=$?
[ $rc = 0 ] || tail -30 "$W/install.log" | sed 's/^/# /'
tap_diag "apt-get install: $((SECONDS - start)) s"
tap_ok "apt-get install of both .debs into a debootstrap minbase of Debian 12" test $rc = 0

pw() { in_root getent passwd "$1" | cut -d: -f"$2"; }
U6=$(pw _sixfour 3) UH=$(pw _sixfour-handoffd 3)
tap_ok "system user _sixfour (uid ${U6:-none} < 1000, no login)" \
	sh -c "[ '${U6:-9999}' -lt 1000 ] && [ '$(pw _sixfour 7)' = /usr/sbin/nologin ]"
tap_ok "system user _sixfour-handoffd (uid ${UH:-none} < 1000, no login)" \
	sh -c "[ '${UH:-9999}' -lt 1000 ] && [ '$(pw _sixfour-handoffd 7)' = /usr/sbin/nologin ]"
tap_ok "the operator group sixfourctl" in_root getent group sixfourctl
tap_like "/etc/sixfour/sixfour.ini is a conffile of sixfour" \
	"$(in_root dpkg-query -W -f='${Conffiles}' sixfour)" "^ /etc/sixfour/sixfour.ini [0-9a-f]{32}$"
tap_like "/etc/default/sixfour-handoffd is a conffile of sixfour-handoffd" \
	"$(in_root dpkg-query -W -f='${Conffiles}' sixfour-handoffd)" "^ /etc/default/sixfour-handoffd "
tap_ok "the conffile is the packaged example" \
	cmp "$R/etc/sixfour/sixfour.ini" "$R/usr/share/doc/sixfour/examples/sixfour.ini"
tap_ok "sixfourd -n accepts the installed configuration" in_root sixfourd -n
eff=$(in_root sixfourd -n -v)
tap_ok "... which names _sixfour as its user and sixfourctl as the socket's group" \
	sh -c 'printf "%s\n" "$1" | grep -qx "user = _sixfour" &&
		printf "%s\n" "$1" | grep -qx "control-group = sixfourctl"' _ "$eff"
units="/lib/systemd/system/sixfourd.service /lib/systemd/system/sixfour-handoffd.service"
out=$(in_root systemd-analyze verify $units 2>&1)
tap_is "systemd-analyze verify: both installed units, no complaint" "$out" ""
sec() { in_root systemd-analyze security --offline=yes "$1" 2>&1 |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'; }
E6=$(sec /lib/systemd/system/sixfourd.service) EH=$(sec /lib/systemd/system/sixfour-handoffd.service)
tap_diag "systemd-analyze security: sixfourd $E6, sixfour-handoffd $EH"
tap_ok "sixfour-handoffd's exposure ${EH:-?} is at most 2.0" awk "BEGIN { exit !(\"${EH:-9}\" + 0 <= 2.0) }"
tap_ok "sixfourd's exposure ${E6:-?} is at most 2.0" awk "BEGIN { exit !(\"${E6:-9}\" + 0 <= 2.0) }"
tap_ok "both units are enabled" test -L "$R/etc/systemd/system/multi-user.target.wants/sixfourd.service" \
	-a -L "$R/etc/systemd/system/multi-user.target.wants/sixfour-handoffd.service"
umount "$R/proc"

# --- 3. boot it ---
ip netns add "$NS" || lab_bail "ip netns add"
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" addr add 192.88.99.1/24 dev v0
ip -n "$NS" addr add 2001:db8:1::1/64 dev v0 nodad
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
# The TUN clone device as udev makes it on Debian (0666); the host's own is
# left alone.
mknod -m 0666 "$W/tun" c 10 200
systemd-nspawn -q -D "$R" -b --register=no --keep-unit --network-namespace-path="/run/netns/$NS" \
	--capability=CAP_NET_ADMIN --bind="$W/tun:/dev/net/tun" >"$W/boot.log" 2>&1 </dev/null &
NSPAWN_PID=$!
init_pid() { pgrep -P "$NSPAWN_PID" | head -1; }
in_boot() { nsenter -t "$(init_pid)" -a "$@"; }
both_active() { [ "$(in_boot systemctl is-active sixfourd sixfour-handoffd 2>/dev/null | sort -u)" = active ]; }
lab_wait 60 both_active
tap_is "sixfourd.service is active after boot" "$(in_boot systemctl is-active sixfourd)" active
tap_is "sixfour-handoffd.service is active after boot" "$(in_boot systemctl is-active sixfour-handoffd)" active
both_active || in_boot journalctl -b --no-pager -u sixfourd -u sixfour-handoffd | tail -20 | sed 's/^/# /'
st() { in_boot sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }
M=$(in_boot systemctl show -p MainPID --value sixfourd)
H=$(in_boot cat "/proc/$M/task/$M/children" 2>/dev/null | awk '{ print $1 }')
D=$(in_boot systemctl show -p MainPID --value sixfour-handoffd)
tap_like "sixfourd runs as _sixfour" "$(st "$M" Uid)" "^$U6	$U6	$U6	$U6$"
tap_is "sixfourd: CapEff 0" "$(st "$M" CapEff)" 0000000000000000
tap_is "sixfourd: Seccomp 2" "$(st "$M" Seccomp)" 2
tap_is "its helper: CAP_NET_ADMIN alone" "$(st "${H:-0}" CapEff)" 0000000000001000
tap_is "its helper: Seccomp 2" "$(st "${H:-0}" Seccomp)" 2
tap_like "sixfour-handoffd runs as _sixfour-handoffd" "$(st "$D" Uid)" "^$UH	$UH	$UH	$UH$"
tap_is "sixfour-handoffd: CapEff 0" "$(st "$D" CapEff)" 0000000000000000
tap_is "sixfour-handoffd: Seccomp 2" "$(st "$D" Seccomp)" 2
tap_is "its secret: 0600, its user's" \
	"$(in_boot stat -c '%a %U' /var/lib/sixfour-handoffd/secret 2>&1)" "600 _sixfour-handoffd"
tap_is "its journal: 0600, its user's" \
	"$(in_boot stat -c '%a %U' /var/lib/sixfour-handoffd/journal 2>&1)" "600 _sixfour-handoffd"
tap_is "its state directory: 0700" "$(in_boot stat -c '%a %U' /var/lib/sixfour-handoffd 2>&1)" \
	"700 _sixfour-handoffd"
tap_is "the control socket: 0660, group sixfourctl" \
	"$(in_boot stat -c '%a %U %G' /run/sixfour/sixfourd.sock 2>&1)" "660 _sixfour sixfourctl"
in_boot useradd -M -G sixfourctl sfoperator
in_boot useradd -M sfstranger
tap_like "a member of sixfourctl may run sixfourctl status" \
	"$(in_boot setpriv --reuid=sfoperator --regid=sfoperator --init-groups sixfourctl status 2>&1)" \
	"^sixfourd [0-9.]+, pid $M"
tap_like "... nobody else" \
	"$(in_boot setpriv --reuid=sfstranger --regid=sfstranger --init-groups sixfourctl status 2>&1)" \
	"Permission denied"
tap_ok "systemctl reload sixfourd (through sixfourctl)" in_boot systemctl reload sixfourd
tap_like "... reloaded the running daemon" "$(in_boot sixfourctl status 2>&1)" "\(reloads: 1\)"
tap_like "the TUN device is up in the service's network namespace" \
	"$(ip -n "$NS" link show sixfour0 2>&1)" "state UNKNOWN|,UP"
in_boot systemctl stop sixfourd
tap_ok "systemctl stop: the TUN device is gone" sh -c "! ip -n $NS link show sixfour0 >/dev/null 2>&1"
tap_ok "... and so is the nftables table" sh -c "! ip netns exec $NS nft list table inet sixfour >/dev/null 2>&1"
tap_is "... and so is the helper" "$(in_boot sh -c "kill -0 ${H:-0} 2>/dev/null && echo alive")" ""
tap_done
