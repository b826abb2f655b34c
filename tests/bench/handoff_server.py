#!/usr/bin/python3
"""Benchmark of sixfour-handoffd alone (not a test): two namespaces joined
by a veth, the daemon in one, this script playing the NAT64 in the other.

1. LOOKUP round trip (SESSION + LOOKUP + 60-octet echoed packet) against a
   plain UDP echo of the same datagram by a Python echo server in the same
   namespace: median of RUNS runs of N round trips each, and the ratio.
2. ENTRY-CREATED throughput (entries stored, journaled, fsync'd and acked
   per second), 1 entry per datagram against 56 per datagram (a full
   1472-octet datagram), with a window of WINDOW datagrams in flight:
   the fsync batching per round is what the second figure shows.

Usage: top_builddir=BUILD tests/bench/handoff_server.py [N] [RUNS]
"""
import ipaddress
import json
import os
import select
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "netns"))
from handoff_rig import enter_netns, msg, netns_pair, parse, remove  # noqa: E402  (the rig)

BUILD = os.environ.get("top_builddir", os.getcwd())
DAEMON = os.path.join(BUILD, "sixfour-handoffd")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
WINDOW = 32
RUN = "hb%d" % os.getpid()
NS_SRV, NS_NAT = RUN + "-srv", RUN + "-nat"
NAT4, SRV4, PORT, ECHO_PORT = "192.88.99.1", "192.88.99.80", 64646, 7007

if os.geteuid() != 0 or not os.access(DAEMON, os.X_OK):
    sys.exit("needs root and a built sixfour-handoffd in $top_builddir")

tmp = tempfile.mkdtemp(prefix="handoffd-bench-")
os.chmod(tmp, 0o755)
procs = []


def er(port, cport=50000):
    return struct.pack("!BBHHH", 6, 0, port, 80, cport) + \
        ipaddress.IPv6Address("2001:db8:1::100").packed


def main():
    netns_pair(RUN, NS_NAT, [NAT4], NS_SRV, [SRV4])
    state = os.path.join(tmp, "state")
    procs.append(subprocess.Popen(["ip", "netns", "exec", NS_SRV, DAEMON, "-d", state, "-l",
                                   os.path.join(tmp, "log"), "-u", "nobody"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    echo = ("import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "s.bind(('%s',%d))\nwhile True:\n d,a=s.recvfrom(65535)\n s.sendto(d,a)\n"
            % (SRV4, ECHO_PORT))
    procs.append(subprocess.Popen(["ip", "netns", "exec", NS_SRV, "/usr/bin/python3", "-c", echo]))
    enter_netns(NS_NAT)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((NAT4, PORT))
    s.settimeout(2.0)
    nonce = os.urandom(8)
    hello = msg(0x32, bytes([1, 1, 0, 0]) + nonce + bytes(8))
    for _ in range(100):
        try:
            s.sendto(hello, (SRV4, PORT))
            d, _ = s.recvfrom(65535)
            break
        except socket.timeout:
            continue
    cookie = list(parse(d))[0][1][12:20]
    session = msg(0x34, nonce + cookie)
    s.sendto(session + msg(0x35, er(3719)), (SRV4, PORT))
    s.recvfrom(65535)

    pkt = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 60, 1, 0, 64, 6, 0, socket.inet_aton(SRV4),
                      socket.inet_aton(NAT4)) + bytes(40)
    lookup = session + msg(0x38, struct.pack("!BBHI", 6, 0, 3719, 1)) + pkt

    def rtt(dst_port, data):
        t = []
        for _ in range(N):
            t0 = time.perf_counter_ns()
            s.sendto(data, (SRV4, dst_port))
            s.recvfrom(65535)
            t.append(time.perf_counter_ns() - t0)
        return statistics.median(t) / 1000.0

    lk, ec = [], []
    for _ in range(RUNS):
        lk.append(rtt(PORT, lookup))
        ec.append(rtt(ECHO_PORT, lookup))
    mlk, mec = statistics.median(lk), statistics.median(ec)
    print("lookup round trip: median %.1f us (runs %s)" % (mlk, ", ".join("%.1f" % x for x in lk)))
    print("udp echo round trip: median %.1f us (runs %s)" % (mec, ", ".join("%.1f" % x for x in ec)))
    print("ratio lookup/echo: %.2f" % (mlk / mec))

    gen = [0]

    def throughput(per_dgram):
        # A new client port per run: every notice changes the table, so
        # every round is journaled and fsync'd (a refresh would not be).
        gen[0] += 1
        port = [1024]
        total = N * 4

        def dgram():
            body = b""
            for _ in range(per_dgram):
                body += msg(0x35, er(port[0], 1000 + gen[0]))
                port[0] = port[0] + 1 if port[0] < 65535 else 1024
            return session + body
        sent = acked = 0
        t0 = time.perf_counter()
        inflight = 0
        while acked < total:
            while inflight < WINDOW and sent < total:
                s.sendto(dgram(), (SRV4, PORT))
                sent += per_dgram
                inflight += 1
            r, _, _ = select.select([s], [], [], 2.0)
            if not r:
                inflight = 0  # a lost datagram: refill the window
                continue
            d, _ = s.recvfrom(65535)
            acked += sum(1 for t, _ in parse(d) if t == 0x37)
            inflight -= 1
        return total / (time.perf_counter() - t0)

    def counters():
        out = subprocess.run([DAEMON, "-d", state, "status", "--json"], stdout=subprocess.PIPE,
                             text=True).stdout
        return json.loads(out)["counters"]

    one, full, per_sync = [], [], {1: [], 56: []}
    for _ in range(RUNS):
        for k, lst in ((1, one), (56, full)):
            c0 = counters()
            lst.append(throughput(k))
            c1 = counters()
            syncs = c1["JOURNAL_SYNCS"] - c0["JOURNAL_SYNCS"]
            per_sync[k].append((c1["RX_DATAGRAMS"] - c0["RX_DATAGRAMS"]) / max(syncs, 1))
    m1, m56 = statistics.median(one), statistics.median(full)
    print("entries acked/s, 1 per datagram: median %.0f (runs %s)"
          % (m1, ", ".join("%.0f" % x for x in one)))
    print("entries acked/s, 56 per datagram: median %.0f (runs %s)"
          % (m56, ", ".join("%.0f" % x for x in full)))
    print("ratio 56/1: %.1f" % (m56 / m1))
    # The batching: how many datagrams each journal fsync covered (daemon counters).
    print("datagrams per fsync (median): %.1f (1 per datagram), %.1f (56 per datagram), "
          "window %d" % (statistics.median(per_sync[1]), statistics.median(per_sync[56]), WINDOW))


try:
    main()
finally:
    remove(procs, (NS_SRV, NS_NAT), tmp)
