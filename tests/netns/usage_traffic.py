"""Traffic with known sizes for the usage and limit labs (not a test).

  usage_traffic.py echo DST PORT COUNT SIZE [BIND_ADDR] [RATE]
      sends COUNT datagrams of SIZE octets to DST:PORT one after another
      (RATE per second, default as fast as the echoes come), waits up to
      2 s for each echo, never resends; prints "sent N echoed M".
  usage_traffic.py unsolicited DST PORT COUNT SIZE
      sends COUNT IPv4 datagrams to DST:PORT (no session exists for them);
      prints "sent N".
  usage_traffic.py flood DST PORT COUNT SIZE SRCNET
      spoofed: COUNT IPv4/UDP datagrams from COUNT different /24s of SRCNET
      (a /10 or shorter, e.g. 100.64.0.0/10), raw socket, at most 2000 a
      second; prints "sent N".
  usage_traffic.py flood6 DST PORT COUNT SIZE SRCNET
      spoofed: COUNT IPv6/UDP datagrams from COUNT different /32s of SRCNET
      (a /20 or shorter, e.g. 3fff:1000::/20), raw socket, paced the same
      way; prints "sent N".
"""
import ipaddress
import socket
import struct
import sys
import time


def echo(dst, port, count, size, bind=None, rate=0.0):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if bind:
        s.bind((bind, 0))
    s.settimeout(2)
    got = 0
    t0 = time.time()
    for i in range(count):
        if rate:
            pause = t0 + i / rate - time.time()
            if pause > 0:
                time.sleep(pause)
        s.sendto(b"u" * size, (dst, port))
        try:
            s.recvfrom(65535)
            got += 1
        except socket.timeout:
            pass
    print("sent %d echoed %d" % (count, got), flush=True)


def unsolicited(dst, port, count, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(count):
        s.sendto(b"x" * size, (dst, port))
        time.sleep(0.001)
    print("sent %d" % count, flush=True)


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def flood(dst, port, count, size, srcnet):
    net = ipaddress.ip_network(srcnet)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    payload = b"f" * size
    base = int(net.network_address)
    for i in range(count):
        src = socket.inet_aton(str(ipaddress.ip_address(base + (i << 8) + 7)))
        udp = struct.pack("!HHHH", 40000 + i % 1000, port, 8 + size, 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                         src, socket.inet_aton(dst))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        s.sendto(ip + udp, (dst, 0))
        time.sleep(0.0005)  # paced: no packet may be lost before the translator
    print("sent %d" % count, flush=True)


def flood6(dst, port, count, size, srcnet):
    net = ipaddress.ip_network(srcnet)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    payload = b"f" * size
    base = int(net.network_address)
    dst_b = socket.inet_pton(socket.AF_INET6, dst)
    for i in range(count):
        src_b = ipaddress.ip_address(base + (i << 96) + 7).packed
        sport = 40000 + i % 1000
        ulen = 8 + size
        pseudo = src_b + dst_b + struct.pack("!IxxxB", ulen, 17)
        udp = struct.pack("!HHHH", sport, port, ulen, 0) + payload
        udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp) or 0xFFFF) + udp[8:]
        ip = struct.pack("!IHBB16s16s", 6 << 28, ulen, 17, 64, src_b, dst_b)
        s.sendto(ip + udp, (dst, 0))
        time.sleep(0.0005)
    print("sent %d" % count, flush=True)


def main(argv):
    cmd = argv[1]
    if cmd == "echo":
        echo(argv[2], int(argv[3]), int(argv[4]), int(argv[5]),
             argv[6] if len(argv) > 6 and argv[6] != "-" else None,
             float(argv[7]) if len(argv) > 7 else 0.0)
    elif cmd == "unsolicited":
        unsolicited(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif cmd == "flood":
        flood(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), argv[6])
    elif cmd == "flood6":
        flood6(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), argv[6])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
