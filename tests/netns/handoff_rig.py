"""What the scripts around sixfour-handoffd alone share (tests/netns/handoff_server.py,
tests/bench/handoff_server.py): two network namespaces joined by a veth, one for
the daemon and one playing the NAT64, their removal, and the framing of the wire
as the NAT64 side writes and reads it (spec/handoff.md section 5)."""
import ctypes
import os
import shutil
import struct
import subprocess


def _ip(*args, check=True):
    return subprocess.run(("ip",) + args, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


def netns_pair(run, ns_nat, nat_addrs, ns_srv, srv_addrs):
    """Namespaces ns_nat and ns_srv joined by the veth RUN+"a" (in ns_nat) and
    RUN+"b" (in ns_srv), each with lo and the veth up and its /24 addresses."""
    _ip("netns", "add", ns_srv)
    _ip("netns", "add", ns_nat)
    _ip("link", "add", run + "a", "netns", ns_nat, "type", "veth", "peer", "name",
        run + "b", "netns", ns_srv)
    for ns, dev, addrs in ((ns_nat, run + "a", nat_addrs), (ns_srv, run + "b", srv_addrs)):
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "link", "set", dev, "up")
        for a in addrs:
            _ip("-n", ns, "addr", "add", a + "/24", "dev", dev)


def remove(procs, namespaces, tmp):
    """Kills what still runs of procs, then deletes the namespaces and tmp."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for ns in namespaces:
        _ip("netns", "del", ns, check=False)
    shutil.rmtree(tmp, ignore_errors=True)


def enter_netns(name):
    """Moves this thread into the network namespace `name`."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)


def msg(t, payload):
    """A message of type t (its payload an even number of octets)."""
    assert len(payload) % 2 == 0
    return bytes([t, len(payload) // 2]) + payload


def parse(d):
    """Yields (type, payload or packet) by the first-nibble rules."""
    off = 0
    while off < len(d):
        n = d[off] >> 4
        if n == 3:
            plen = 2 * d[off + 1]
            yield d[off], d[off + 2:off + 2 + plen]
            off += 2 + plen
        elif n == 4:
            tl = struct.unpack("!H", d[off + 2:off + 4])[0]
            yield 0x40, d[off:off + tl]
            off += tl
        else:
            return
