#!/usr/bin/python3
"""K live TCP connections through the NAT64 with steady traffic on each, for
tests/bench/cluster_bench.sh: the takeover gap per connection.

Usage: cluster_conns.py CLIENT_NETNS SERVER_NETNS SERVER4 DEST6 PORT K PERIOD_MS

Every connection carries 8 octets every PERIOD_MS (staggered over the
connections), the server and the client sending in turn, so either side
speaking first is covered. Commands on stdin, one answer line each:
  open     -> "open K PORT_MIN PORT_MAX" once all K are connected (the
              NAT64-side ports the server saw)
  mark     -> "mark EPOCH": the moment of the failure (call it right before):
              sending stops, what is in flight is read (200 ms), then the
              mark is taken
  go [cli|srv]
           -> "go": sending resumes (call it right after the failure); with
              a side, only that side of each connection sends until the
              connection delivered again after the mark (who speaks first)
  report S -> waits at most S seconds for every connection to deliver again
              after the mark; "report RECOVERED K gap P50 P90 MAX first P50
              P90 MAX" in ms: gap = last delivery before the mark to the
              first after it (either direction), first = mark to the first
              delivery after it
  quit
"""
import os
import resource
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "netns"))
from handoff_conn import listener_in, socket_in  # noqa: E402  (the lab's helpers)


def pct(v, p):
    if not v:
        return -1
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


class Conn:
    def __init__(self, cli, srv, peer_port):
        self.cli, self.srv, self.peer_port = cli, srv, peer_port
        self.last = None          # monotonic time of the last delivery
        self.last_before = None   # ... the last one before the mark
        self.first_after = None   # ... and the first after it
        self.turn = 0
        self.first = None         # the side that must speak first after the mark


def main():
    cns, sns, server4, dest6, port, k, period = sys.argv[1:8]
    port, k, period = int(port), int(k), float(period) / 1000
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    lst = listener_in(sns, server4, port, 4096)
    conns = []
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    mark = None        # monotonic
    running = False
    next_tick = 0.0
    slot = 0
    waiting = None     # (deadline) of a report
    out = sys.stdout

    def deliver(c, now):
        c.last = now
        if mark is not None and c.first_after is None:
            c.first_after = now

    def receive(key):
        """Reads what a connection's socket has: a delivery if anything."""
        try:
            d = key.fileobj.recv(65536)
        except (BlockingIOError, ConnectionError):
            return
        if d:
            deliver(key.data, time.monotonic())

    def report():
        rec = [c for c in conns if c.first_after is not None]
        gaps = [(c.first_after - c.last_before) * 1000 for c in rec if c.last_before is not None]
        firsts = [(c.first_after - mark) * 1000 for c in rec]
        print("report %d %d gap %d %d %d first %d %d %d" % (
            len(rec), len(conns), pct(gaps, 50), pct(gaps, 90), pct(gaps, 100),
            pct(firsts, 50), pct(firsts, 90), pct(firsts, 100)), file=out, flush=True)

    while True:
        now = time.monotonic()
        if running and now >= next_tick:
            # One slot of the period: the connections whose turn it is.
            n = len(conns)
            per = max(1, n // max(1, int(period / 0.005)))   # slots of 5 ms
            for i in range(slot, min(n, slot + per)):
                c = conns[i]
                if c.first is not None and c.first_after is None:
                    s = c.cli if c.first == "cli" else c.srv
                else:
                    s = c.srv if c.turn % 2 == 0 else c.cli
                    c.turn += 1
                try:
                    s.send(b"12345678")
                except (BlockingIOError, OSError):
                    pass
            slot += per
            if slot >= n:
                slot = 0
            next_tick = now + period * per / max(1, n)
        if waiting is not None and (all(c.first_after is not None for c in conns) or
                                    now >= waiting):
            waiting = None
            report()
        timeout = max(0.0, min(next_tick - now if running else 0.05, 0.05))
        for key, _ in sel.select(timeout):
            if key.data is None:
                line = sys.stdin.readline()
                if not line:
                    return
                args = line.split()
                cmd = args[0] if args else ""
                if cmd == "open":
                    for _ in range(k):
                        c = socket_in(cns, socket.AF_INET6)
                        c.settimeout(10)
                        c.connect((dest6, port))
                        a, peer = lst.accept()
                        c.setblocking(False)
                        a.setblocking(False)
                        cn = Conn(c, a, peer[1])
                        conns.append(cn)
                        sel.register(c, selectors.EVENT_READ, cn)
                        sel.register(a, selectors.EVENT_READ, cn)
                    ports = [c.peer_port for c in conns]
                    print("open %d %d %d" % (len(conns), min(ports), max(ports)), file=out,
                          flush=True)
                    running = True
                elif cmd == "mark":
                    running = False
                    end = time.monotonic() + 0.2
                    while time.monotonic() < end:
                        for key2, _ in sel.select(0.02):
                            if key2.data is not None:
                                receive(key2)
                    mark = time.monotonic()
                    for c in conns:
                        c.last_before, c.first_after = c.last, None
                    print("mark %.6f" % time.time(), file=out, flush=True)
                elif cmd == "go":
                    for c in conns:
                        c.first = args[1] if len(args) > 1 else None
                    running = True
                    next_tick = 0.0
                    print("go", file=out, flush=True)
                elif cmd == "report":
                    waiting = time.monotonic() + float(args[1])
                elif cmd == "quit":
                    return
                else:
                    print("fail unknown command", file=out, flush=True)
                continue
            receive(key)


if __name__ == "__main__":
    main()
