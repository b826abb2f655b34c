#!/bin/sh
# The translator suite of the same name as this link (tests/netns/NAME.sh)
# with [nat64] offload = off: every path that works with TUN offloads on
# must also work with them off (tests/netns/lib.sh LAB_NAT64_OFFLOAD).
LAB_NAT64_OFFLOAD=off
export LAB_NAT64_OFFLOAD
exec "$(dirname "$0")/../$(basename "$0")"
