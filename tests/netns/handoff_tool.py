#!/usr/bin/python3
"""Helpers of tests/netns/handoff_nat64.sh (scapy).

  handoff_tool.py spoof SRC4 DST4 PORT
      Sends forged server->NAT64 datagrams to DST4:PORT with source SRC4
      (the real server's address): a HELLO-ACK with a wrong nonce, a
      LOOKUP-REPLY, an ENTRY-ACK and a BLOCK under a made-up SESSION, and a
      HELLO-ACK from the right address but another source port. Prints how
      many datagrams it sent.
  handoff_tool.py spoof-server NAT4 SERVER4 PORT
      Forges the NAT64 toward the server: ENTRY-CREATED for client
      2001:db8:1::bad under a made-up SESSION, and one with no SESSION at
      all. Prints how many datagrams it sent.
  handoff_tool.py text PCAP NAT4 SERVER4 PORT
      Prints the TEXT messages (one per line) of the NAT64's datagrams.
  handoff_tool.py hello PCAP NAT4 SERVER4 PORT
      Checks that no HELLO-ACK answering a HELLO outside a session is
      larger than the datagram that carried the HELLO: prints
      "ok PAIRS" or "fail ...".
  handoff_tool.py trace PCAP NAT4 SERVER4 PORT MARKER FROM
      What the server saw of one recovery, from time FROM (epoch seconds) on:
      prints "data N T_DATA lookups L T_LOOKUP replies R T_REPLY hellos H
      kinds K", N = TCP segments whose payload is MARKER (each transmission
      counted), L = the NAT64's datagrams with a LOOKUP or LOOKUP-CLIENT, R =
      the server's with a LOOKUP-REPLY, H = the NAT64's datagrams with a
      HELLO outside a session (handshakes), K = the lookup kinds seen (4 =
      LOOKUP, 6 = LOOKUP-CLIENT); the T_ are the first timestamps (- if none).
  handoff_tool.py hints PCAP NAT4 SERVER4 PORT
      Every next-port hint the server gave (ENTRY-ACK or HINTS), one
      "TIMESTAMP PORT" line each.
  handoff_tool.py syns PCAP NAT4 SERVER4 DPORT
      The TCP SYNs from NAT4 to SERVER4:DPORT, one "TIMESTAMP SPORT" each.
  handoff_tool.py flood SRC4 DST4 SPORT PORTS N
      Sends N spoofed TCP ACKs from SRC4:SPORT to DST4, to the ports listed
      in PORTS (comma-separated, or "random:LO-HI"), round robin. Prints N.
"""
import os
import struct
import sys

from scapy.all import IP, UDP, Raw, rdpcap, send  # noqa: E402


def msg(t, payload):
    if len(payload) % 2:
        payload += b"\xff"
    return bytes([t, len(payload) // 2]) + payload


def messages(data):
    """Yields (type, payload) of the 0x3X messages of a datagram."""
    off = 0
    while off + 2 <= len(data) and data[off] >> 4 == 3:
        plen = 2 * data[off + 1]
        if off + 2 + plen > len(data):
            return
        yield data[off], data[off + 2:off + 2 + plen]
        off += 2 + plen


def spoof(src, dst, port):
    rnd = os.urandom
    er = struct.pack("!BBHHH", 6, 0, 61234, 7100, 40000) + bytes.fromhex(
        "20010db8000100000000000000000bad")
    forged = [
        (port, msg(0x33, struct.pack("!BBH", 1, 9, 0) + rnd(8) + rnd(8))),
        (port, msg(0x34, rnd(16)) + msg(0x39, struct.pack("!BBI", 0, 0, 1) + er)),
        (port, msg(0x34, rnd(16)) + msg(0x37, struct.pack("!BBHHH", 6, 0, 61234, 0, 0))),
        (port, msg(0x34, rnd(16)) + msg(0x3B, struct.pack("!BBI", 0, 0, 3600))),
        (port + 1 if port < 65535 else port - 1,
         msg(0x33, struct.pack("!BBH", 1, 9, 0) + rnd(8) + rnd(8))),
    ]
    for sport, payload in forged:
        send(IP(src=src, dst=dst) / UDP(sport=sport, dport=port) / Raw(payload), verbose=False)
    print(len(forged))


def spoof_server(src, dst, port):
    er = struct.pack("!BBHHH", 6, 0, 61999, 7100, 40001) + bytes.fromhex(
        "20010db8000100000000000000000bad")
    forged = [msg(0x34, os.urandom(16)) + msg(0x35, er), msg(0x35, er)]
    for payload in forged:
        send(IP(src=src, dst=dst) / UDP(sport=port, dport=port) / Raw(payload), verbose=False)
    print(len(forged))


def datagrams(path, nat4, server4, port):
    for p in rdpcap(path):
        if IP not in p or UDP not in p:
            continue
        ip, udp = p[IP], p[UDP]
        if udp.sport != port and udp.dport != port:
            continue
        data = bytes(udp.payload)
        if ip.src == nat4 and ip.dst == server4:
            yield "out", data
        elif ip.src == server4 and ip.dst == nat4:
            yield "in", data


def text(path, nat4, server4, port):
    for way, data in datagrams(path, nat4, server4, port):
        if way != "out":
            continue
        for t, payload in messages(data):
            if t == 0x31:
                print(payload.rstrip(b"\xff").decode("utf-8", "replace"))


def hello(path, nat4, server4, port):
    last_hello = None
    pairs = 0
    for way, data in datagrams(path, nat4, server4, port):
        types = [t for t, _ in messages(data)]
        if way == "out" and types and types[0] != 0x34 and 0x32 in types:
            last_hello = len(data)
        elif way == "in" and types and types[0] == 0x33:
            if last_hello is None or len(data) > last_hello:
                print("fail: HELLO-ACK of %d octets for a HELLO datagram of %s" %
                      (len(data), last_hello))
                return
            pairs += 1
    print("ok %d" % pairs if pairs else "fail: no HELLO/HELLO-ACK pair captured")


def trace(path, nat4, server4, port, marker, since):
    from scapy.all import TCP
    marker = marker.encode()
    data, lookups, replies, hellos, kinds = [], [], [], 0, set()
    for p in rdpcap(path):
        t = float(p.time)
        if t < since or IP not in p:
            continue
        ip = p[IP]
        if TCP in p and bytes(p[TCP].payload) == marker:
            data.append(t)
            continue
        if UDP not in p or (p[UDP].sport != port and p[UDP].dport != port):
            continue
        types = [ty for ty, _ in messages(bytes(p[UDP].payload))]
        if ip.src == nat4 and ip.dst == server4:
            if 0x38 in types or 0x3c in types:
                lookups.append(t)
                kinds.update("4" if ty == 0x38 else "6" for ty in types if ty in (0x38, 0x3c))
            if types and types[0] != 0x34 and 0x32 in types:
                hellos += 1
        elif ip.src == server4 and ip.dst == nat4 and 0x39 in types:
            replies.append(t)
    first = lambda v: "%.6f" % min(v) if v else "-"
    print("data %d %s lookups %d %s replies %d %s hellos %d kinds %s" % (
        len(data), first(data), len(lookups), first(lookups), len(replies), first(replies),
        hellos, "".join(sorted(kinds)) or "-"))


def hints(path, nat4, server4, port):
    for p in rdpcap(path):
        if IP not in p or UDP not in p or p[IP].src != server4 or p[IP].dst != nat4:
            continue
        if p[UDP].sport != port:
            continue
        for t, payload in messages(bytes(p[UDP].payload)):
            if t == 0x37 and len(payload) >= 6:
                h = struct.unpack("!H", payload[4:6])[0]
                if h:
                    print("%.6f %d" % (float(p.time), h))
            elif t == 0x3e:
                for i in range(2, len(payload) - 1, 2):
                    print("%.6f %d" % (float(p.time), struct.unpack("!H", payload[i:i + 2])[0]))


def syns(path, nat4, server4, dport):
    from scapy.all import TCP
    for p in rdpcap(path):
        if IP in p and TCP in p and p[IP].src == nat4 and p[IP].dst == server4 and \
                p[TCP].dport == dport and (int(p[TCP].flags) & 0x12) == 0x02:
            print("%.6f %d" % (float(p.time), p[TCP].sport))


def flood(src, dst, sport, ports, n):
    import random
    from scapy.all import TCP
    if ports.startswith("random:"):
        lo, hi = (int(x) for x in ports[7:].split("-"))
        plist = [random.randint(lo, hi) for _ in range(n)]
    else:
        plist = [int(x) for x in ports.split(",")]
    pkts = [IP(src=src, dst=dst) / TCP(sport=sport, dport=plist[i % len(plist)], flags="A",
                                       seq=random.getrandbits(32), ack=random.getrandbits(32))
            for i in range(n)]
    send(pkts, verbose=False)
    print(n)


def main():
    cmd = sys.argv[1]
    if cmd == "spoof":
        spoof(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "spoof-server":
        spoof_server(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "text":
        text(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "hello":
        hello(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "trace":
        trace(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6],
              float(sys.argv[7]))
    elif cmd == "hints":
        hints(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "syns":
        syns(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "flood":
        flood(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
    else:
        sys.exit("unknown command")


if __name__ == "__main__":
    main()
