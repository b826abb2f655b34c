"""Spoofed floods and the clients that must survive them (not a test itself;
driven by tests/netns/nat64_flood.sh and nat64_pool_attack.sh).

  nat64_spoof.py flood DST6 PORT FLOWS PER56 BASE [PPS]
      sends FLOWS one-packet UDP flows to [DST6]:PORT over a raw IPv6 socket,
      PER56 of them (source ports 1024, 1025, ...) from each of FLOWS/PER56
      /56 prefixes counted up from BASE (a /40: BASE + n * 2^72), paced at
      PPS (0 = as fast as possible); prints "sent N".
  nat64_spoof.py survive DST6 PORT FLOWS PER56 BASE PPS SPOOF_PORT [HOLD [UDPPORT]]
      the legitimate client: two TCP connections to [DST6]:PORT (an echo
      server) exchange data, then the flood above runs (to SPOOF_PORT) in a
      thread; half way through a third connection is opened and used;
      afterwards the first two carry data again and a fourth connection is
      opened. Prints one line per check: "pass NAME" or "fail NAME why",
      and "sent N". With HOLD (a file name) it then prints "holding" and
      keeps the connections open until that file exists (at most 30 s).
      With UDPPORT (a UDP echo server on the same host) a UDP exchange
      from a new socket is checked during and after the flood too.
"""
import ipaddress
import os
import socket
import struct
import sys
import threading
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp6(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    pseudo = src + dst + struct.pack("!IxxxB", length, 17)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, length, c) + payload
    ip = struct.pack("!IHBB", 6 << 28, length, 17, 64) + src + dst
    return ip + udp


def flood(dst6, port, flows, per56, base, pps, started=None, half=None):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    dst = socket.inet_pton(socket.AF_INET6, dst6)
    b = int(ipaddress.IPv6Address(base))
    sent = 0
    t0 = time.time()
    if started:
        started.set()
    for i in range(flows):
        prefix = b + ((i // per56) << 72)
        src = ipaddress.IPv6Address(prefix | 1).packed
        pkt = udp6(src, dst, 1024 + i % per56, port, b"spoofed!")
        try:
            s.sendto(pkt, (dst6, 0))
            sent += 1
        except OSError:
            pass
        if half and i == flows // 2:
            half.set()
        if pps and i % 64 == 63:
            due = t0 + (i + 1) / pps
            d = due - time.time()
            if d > 0:
                time.sleep(d)
    return sent


class Conn:
    def __init__(self, dst6, port):
        self.s = socket.create_connection((dst6, port), timeout=5)

    def echo(self, n=2000):
        data = bytes((i * 7) & 0xFF for i in range(n))
        self.s.sendall(data)
        got = b""
        while len(got) < len(data):
            d = self.s.recv(65536)
            if not d:
                raise OSError("closed")
            got += d
        if got != data:
            raise OSError("corrupted")


def check(name, fn):
    try:
        fn()
        print("pass %s" % name, flush=True)
    except Exception as e:  # every failure is a reported "fail"
        print("fail %s %s" % (name, e), flush=True)


def udp_echo(dst6, port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(2)
    data = b"legitimate %f" % time.time()
    for _ in range(3):
        s.sendto(data, (dst6, port))
        try:
            got, _ = s.recvfrom(2048)
            if got == data:
                return
        except socket.timeout:
            continue
    raise OSError("no echo")


def survive(dst6, port, flows, per56, base, pps, spoof_port, hold=None, udp=0):
    rc = survive_checks(dst6, port, flows, per56, base, pps, spoof_port, udp)
    if hold:
        print("holding", flush=True)
        end = time.time() + 30
        while time.time() < end and not os.path.exists(hold):
            time.sleep(0.05)
    return rc


def survive_checks(dst6, port, flows, per56, base, pps, spoof_port, udp):
    conns = []
    check("two connections open", lambda: conns.extend([Conn(dst6, port), Conn(dst6, port)]))
    if len(conns) != 2:
        return 1
    check("both carry data before the flood", lambda: [c.echo() for c in conns])
    half = threading.Event()
    result = {}

    def run():
        result["sent"] = flood(dst6, spoof_port, flows, per56, base, pps, half=half)

    th = threading.Thread(target=run)
    th.start()
    half.wait(60)
    during = th.is_alive()

    def new_during():
        c = Conn(dst6, port)
        c.echo()
        conns.append(c)

    check("a new connection during the flood", new_during)
    if udp:
        check("a UDP flow during the flood", lambda: udp_echo(dst6, udp))
    # Keep the first two active while the rest of the flood comes.
    check("connection 1 carries data during the flood", conns[0].echo)
    th.join()
    print("sent %d" % result.get("sent", 0), flush=True)
    print("%s the third connection was made while the flood ran" %
          ("pass" if during else "fail"), flush=True)
    check("connection 1 carries data after the flood", conns[0].echo)
    check("connection 2 carries data after the flood", conns[1].echo)
    check("connection 3 carries data after the flood", conns[2].echo if len(conns) > 2 else None)
    check("a new connection after the flood", lambda: Conn(dst6, port).echo())
    if udp:
        check("a UDP flow after the flood", lambda: udp_echo(dst6, udp))
    survive.conns = conns	# open until the caller lets go
    return 0


def main(argv):
    if len(argv) >= 6 and argv[0] == "flood":
        sent = flood(argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5],
                     float(argv[6]) if len(argv) > 6 else 0)
        print("sent %d" % sent, flush=True)
        return 0
    if len(argv) in (8, 9, 10) and argv[0] == "survive":
        return survive(argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5],
                       float(argv[6]), int(argv[7]), argv[8] if len(argv) > 8 else None,
                       int(argv[9]) if len(argv) > 9 else 0)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
