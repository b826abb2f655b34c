#!/usr/bin/python3
"""One long-lived TCP connection through the NAT64, both ends in this process.

Usage: handoff_conn.py CLIENT_NETNS SERVER_NETNS SERVER4 DEST6 PORT

The listening socket is made in SERVER_NETNS, the client socket in
CLIENT_NETNS (sockets keep the namespace they were created in), so the
test can make either end speak first. Commands on stdin, one answer line
each on stdout:
  open            -> "open CLIENT_PORT PEER_ADDR PEER_PORT" (the peer as the
                     server sees it: the NAT64's pool address and port)
  s2c TEXT [SECS] -> "ok" when the client read TEXT, else "fail ..."
  ts2c TEXT       -> like s2c, "ok MICROSECONDS" (tests/bench/handoff_bench.sh)
  c2s TEXT [SECS] -> "ok" when the server read TEXT, else "fail ..."
  tc2s TEXT       -> like c2s, "ok MICROSECONDS"
  both A B [SECS] -> the server sends A and the client B at once; "ok" when
                     both arrived
  many K          -> K more connections (kept open, idle): "many PEER_PORT..."
  manycheck TEXT  -> every one of them, the server then the client sending:
                     "manycheck OK_COUNT FAILED_PEER_PORTS..."
  quit
"""
import ctypes
import os
import select
import socket
import sys
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + name)
    finally:
        os.close(fd)


def commands():
    """The command lines on stdin, split; empty ones skipped."""
    for line in sys.stdin:
        args = line.split()
        if args:
            yield args


def socket_in(name, family, kind=socket.SOCK_STREAM):
    """A socket (TCP unless told) made in network namespace `name` (a socket
    keeps the namespace it was made in); the thread then returns to its own."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        setns(name)
        return socket.socket(family, kind)
    finally:
        libc.setns(home, CLONE_NEWNET)
        os.close(home)


def listener_in(name, addr, port, backlog):
    """A TCP socket of namespace `name` listening on addr:port."""
    lst = socket_in(name, socket.AF_INET)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((addr, port))
    lst.listen(backlog)
    return lst


def recv_exact(sock, want, secs):
    """Reads len(want) octets within secs; returns what arrived."""
    got = b""
    sock.setblocking(False)
    deadline = time.monotonic() + secs
    while len(got) < len(want):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            break
        try:
            d = sock.recv(len(want) - len(got))
        except BlockingIOError:
            continue
        if not d:
            break
        got += d
    return got


def main():
    cns, sns, server4, dest6, port = sys.argv[1:6]
    port = int(port)
    lst = listener_in(sns, server4, port, 4)
    cli = socket_in(cns, socket.AF_INET6)
    # No Nagle: each message leaves at once, so a measured delivery is the
    # path's, not a wait for the ACK of the one before.
    cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    srv = None
    pairs = []  # (client socket, server socket, peer port) of `many`
    out = sys.stdout
    for args in commands():
        cmd = args[0]
        secs = 10.0
        try:
            if cmd == "open":
                cli.settimeout(10)
                cli.connect((dest6, port))
                srv, peer = lst.accept()
                srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                print("open %d %s %d" % (cli.getsockname()[1], peer[0], peer[1]), file=out)
            elif cmd in ("s2c", "c2s", "ts2c", "tc2s"):
                text = args[1].encode()
                if len(args) > 2:
                    secs = float(args[2])
                tx, rx = (cli, srv) if cmd in ("c2s", "tc2s") else (srv, cli)
                tx.setblocking(True)
                t0 = time.monotonic()
                tx.sendall(text)
                got = recv_exact(rx, text, secs)
                us = int((time.monotonic() - t0) * 1e6)
                res = "ok" if got == text else "fail got %r" % got
                print(res + (" %d" % us if cmd in ("ts2c", "tc2s") else ""), file=out)
            elif cmd == "both":
                a, b = args[1].encode(), args[2].encode()
                if len(args) > 3:
                    secs = float(args[3])
                srv.setblocking(True)
                cli.setblocking(True)
                srv.sendall(a)
                cli.sendall(b)
                got_c = recv_exact(cli, a, secs)
                got_s = recv_exact(srv, b, secs)
                ok = got_c == a and got_s == b
                print("ok" if ok else "fail client %r server %r" % (got_c, got_s), file=out)
            elif cmd == "many":
                ports = []
                for _ in range(int(args[1])):
                    c = socket_in(cns, socket.AF_INET6)
                    c.settimeout(10)
                    c.connect((dest6, port))
                    a, peer = lst.accept()
                    pairs.append((c, a, peer[1]))
                    ports.append(str(peer[1]))
                print("many " + " ".join(ports), file=out)
            elif cmd == "manycheck":
                good, bad = 0, []
                for i, (c, a, pp) in enumerate(pairs):
                    t1, t2 = ("%s-s%d" % (args[1], i)).encode(), ("%s-c%d" % (args[1], i)).encode()
                    a.setblocking(True)
                    a.sendall(t1)
                    got1 = recv_exact(c, t1, 5)
                    c.setblocking(True)
                    c.sendall(t2)
                    got2 = recv_exact(a, t2, 5)
                    if got1 == t1 and got2 == t2:
                        good += 1
                    else:
                        bad.append(str(pp))
                print("manycheck %d %s" % (good, " ".join(bad)), file=out)
            elif cmd == "quit":
                break
            else:
                print("fail unknown command", file=out)
        except OSError as e:
            print("fail %s" % e, file=out)
        out.flush()


if __name__ == "__main__":
    main()
