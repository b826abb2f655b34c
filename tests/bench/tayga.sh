# shellcheck shell=bash
# TAYGA's standard stateful recipe for the benchmarks (sourced after
# tests/netns/lib.sh and lab_setup): a dynamic pool behind nftables
# masquerade, so kernel conntrack keeps the state. Needs PREFIX (the /96,
# "2001:db8:64::") and POOL_DYN (the dynamic pool, an IPv4 /24).
mkdir -p "$LAB_DIR/tayga"
cat >"$LAB_DIR/tayga.conf" <<CONF
tun-device nat64
ipv4-addr ${POOL_DYN%.*}.1
prefix ${PREFIX}/96
dynamic-pool $POOL_DYN
data-dir $LAB_DIR/tayga
CONF
tayga_start() {
	rm -f "$LAB_DIR/tayga/"*
	lab_in appl tayga -c "$LAB_DIR/tayga.conf" --mktun >/dev/null
	lab_in appl ip link set nat64 up
	lab_in appl ip route add "$POOL_DYN" dev nat64
	lab_in appl ip -6 route add "${PREFIX}/96" dev nat64
	lab_in appl nft -f - <<NFT
table ip benchnat {
	chain post { type nat hook postrouting priority 100; ip saddr $POOL_DYN masquerade; }
}
NFT
	lab_bg appl tayga tayga -d -c "$LAB_DIR/tayga.conf"
	TAYGA_PID=$LAB_LAST_PID
	lab_wait 10 lab_in client ping -6 -c1 -W1 "${PREFIX}$LAB_SERVER4" || echo "# tayga does not answer" >&2
}
tayga_stop() {
	kill "$TAYGA_PID" 2>/dev/null
	wait "$TAYGA_PID" 2>/dev/null
	lab_in appl nft delete table ip benchnat
	lab_in appl ip link del nat64 2>/dev/null
	command -v conntrack >/dev/null && lab_in appl conntrack -F >/dev/null 2>&1
}
