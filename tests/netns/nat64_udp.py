"""UDP helper for the nat64 namespace tests (not a test itself).

  nat64_udp.py send DST PORT SIZE [BIND_ADDR BIND_PORT [EXTRA_SECONDS]]
      sends SIZE random octets to DST:PORT, waits for the echo and prints
      "reply LEN SAME SRC SRCPORT" (SAME = 1 when the content came back
      intact); with EXTRA_SECONDS keeps listening and prints
      "extra LEN SRC SRCPORT" for the first further datagram.
  nat64_udp.py many DST PORT COUNT BIND_ADDR
      sends one datagram from each of COUNT sockets (new flows), prints
      how many got their echo within 3 s.
  nat64_udp.py once BIND_PORT DST PORT TEXT
      sends one datagram from BIND_PORT (IPv4) to DST:PORT.
"""
import os
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def send(dst, port, size, bind_addr=None, bind_port=0, extra=0.0):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    if bind_addr:
        s.bind((bind_addr, int(bind_port)))
    data = os.urandom(int(size))
    s.settimeout(5)
    reply = None
    for _ in range(3):
        s.sendto(data, (dst, int(port)))
        try:
            reply, peer = s.recvfrom(65535)
            break
        except socket.timeout:
            continue
    if reply is None:
        print("noreply", flush=True)
        return 1
    print("reply %d %d %s %d" % (len(reply), int(reply == data), peer[0], peer[1]), flush=True)
    end = time.time() + float(extra)
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            d, p = s.recvfrom(65535)
        except socket.timeout:
            break
        print("extra %d %s %d" % (len(d), p[0], p[1]), flush=True)
        break
    return 0


def once(bind_port, dst, port, text):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.bind(("0.0.0.0" if family(dst) == socket.AF_INET else "::", int(bind_port)))
    s.sendto(text.encode(), (dst, int(port)))
    return 0


def many(dst, port, count, bind_addr):
    socks = []
    for _ in range(int(count)):
        s = socket.socket(family(dst), socket.SOCK_DGRAM)
        s.bind((bind_addr, 0))
        s.setblocking(False)
        s.sendto(b"flow", (dst, int(port)))
        socks.append(s)
    got = set()
    end = time.time() + 3
    while time.time() < end and len(got) < len(socks):
        for i, s in enumerate(socks):
            try:
                s.recvfrom(100)
                got.add(i)
            except (BlockingIOError, OSError):
                pass
        time.sleep(0.02)
    print(len(got), flush=True)
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "send":
        sys.exit(send(*args))
    if cmd == "many":
        sys.exit(many(*args))
    if cmd == "once":
        sys.exit(once(*args))
    sys.exit(2)
