#!/usr/bin/python3
"""Helpers of tests/netns/cluster.sh and tests/bench/cluster_bench.sh.

  cluster_tool.py dnsloop LOG NAME ADDR...
      Every 100 ms asks each ADDR for NAME AAAA (UDP, 1 s timeout, in a
      thread per address) until killed; one line per query in LOG:
      "EPOCH ADDR ok|timeout|fail RCODE_OR_WHY MS".
  cluster_tool.py dnsreport LOG ADDR FROM TO
      The queries to ADDR sent between FROM and TO (epoch seconds):
      "sent N answered M lost L gap MS", gap = the longest time without an
      answered query in that window (from the last answer before it).
  cluster_tool.py sent PCAP FROM TO
      How many frames of PCAP lie outside every window FROM-TO of the
      arguments (pairs of epoch seconds; TO may be "end"): "outside N of M"
      and the first such timestamp.
  cluster_tool.py ras PCAP
      Every Router Advertisement in PCAP, one line each:
      "EPOCH SRC6 SRCMAC ROUTER_LIFETIME PREF64/LEN:LIFETIME,...".
  cluster_tool.py lookups PCAP NAT4 PORT FROM TO
      The lookups (LOOKUP and LOOKUP-CLIENT messages) NAT4 sent to handoff
      servers between FROM and TO: "lookups N peak P span MS", P = the most
      in one 100 ms bin, span = first to last.
  cluster_tool.py standby-probe DST4 TCPPORT UDPPORT
      From this namespace: a TCP connect and a UDP datagram (connected
      socket) to DST4; prints "tcp timeout|refused|open udp timeout|refused|answer"
      (1 s each): a standby answers nothing, so "tcp timeout udp timeout".
  cluster_tool.py spoof IFACE DSTMAC SRC4 DST4 TCPPORT DPORT HPORT
      From this namespace, on IFACE to DSTMAC (a node's own Ethernet
      address): as if from SRC4, a TCP segment with data (ACK|PSH) from
      TCPPORT to DST4:DPORT, one with RST and a bare SYN, and a UDP datagram
      from SRC4:HPORT to DST4:HPORT (the handoff port); prints "spoof 4".
"""
import socket
import struct
import sys
import threading
import time


def dnsloop(log, name, addrs):
    import dns.message
    import dns.query
    import dns.rdatatype
    out = open(log, "a", buffering=1)
    lock = threading.Lock()

    def ask(addr):
        while True:
            t0 = time.time()
            q = dns.message.make_query(name, dns.rdatatype.AAAA)
            try:
                r = dns.query.udp(q, addr, timeout=1.0)
                res = "ok %d" % r.rcode() if r.rcode() == 0 and r.answer else "fail %d" % r.rcode()
            except dns.exception.Timeout:
                res = "timeout -"
            except OSError as e:
                res = "fail %s" % e.__class__.__name__
            ms = (time.time() - t0) * 1000
            with lock:
                out.write("%.6f %s %s %.1f\n" % (t0, addr, res, ms))
            left = 0.1 - (time.time() - t0)
            if left > 0:
                time.sleep(left)

    for a in addrs:
        threading.Thread(target=ask, args=(a,), daemon=True).start()
    while True:
        time.sleep(3600)


def dnsreport(log, addr, t_from, t_to):
    sent = answered = 0
    last_ok = None
    gap = 0.0
    for line in open(log):
        f = line.split()
        if len(f) < 5 or f[1] != addr:
            continue
        t = float(f[0])
        ok = f[2] == "ok"
        if t < t_from:
            if ok:
                last_ok = t + float(f[4]) / 1000
            continue
        if t > t_to:
            break
        sent += 1
        if ok:
            answered += 1
            done = t + float(f[4]) / 1000
            if last_ok is not None:
                gap = max(gap, done - last_ok)
            last_ok = done
    print("sent %d answered %d lost %d gap %d" % (sent, answered, sent - answered, gap * 1000))


def sent(pcap, windows):
    from scapy.all import rdpcap
    total = outside = 0
    first = None
    for p in rdpcap(pcap):
        t = float(p.time)
        total += 1
        if not any(a <= t <= b for a, b in windows):
            outside += 1
            first = first or "%.6f %s" % (t, p.summary())
    print("outside %d of %d%s" % (outside, total, " first " + first if first else ""))


def ras(pcap):
    from scapy.all import rdpcap, Ether, IPv6, ICMPv6ND_RA
    for p in rdpcap(pcap):
        if not p.haslayer(ICMPv6ND_RA):
            continue
        ra = p[ICMPv6ND_RA]
        raw = bytes(ra)[16:]  # options after the 16-octet RA header
        pref = []
        while len(raw) >= 8 and raw[1]:
            olen = raw[1] * 8
            if raw[0] == 38 and olen == 16:  # RFC 8781 PREF64
                sl = struct.unpack("!H", raw[2:4])[0]
                plen = {0: 96, 1: 64, 2: 56, 3: 48, 4: 40, 5: 32}.get(sl & 7, 0)
                pfx = socket.inet_ntop(socket.AF_INET6, raw[4:16] + b"\0" * 4)
                pref.append("%s/%d:%d" % (pfx, plen, (sl >> 3) * 8))
            raw = raw[olen:]
        print("%.6f %s %s %d %s" % (float(p.time), p[IPv6].src, p[Ether].src, ra.routerlifetime,
                                    ",".join(pref) or "-"))


def lookups(pcap, nat4, port, t_from, t_to):
    from scapy.all import rdpcap, IP, UDP
    times = []
    for p in rdpcap(pcap):
        t = float(p.time)
        if not (t_from <= t <= t_to) or not p.haslayer(UDP) or p[IP].src != nat4 or \
                p[UDP].dport != port:
            continue
        b = bytes(p[UDP].payload)
        off = 0
        while off + 2 <= len(b):
            n = b[off] >> 4
            if n == 3:
                if b[off] in (0x38, 0x3C):
                    times.append(t)
                off += 2 + 2 * b[off + 1]
            elif n == 4 and off + 4 <= len(b):
                off += struct.unpack("!H", b[off + 2:off + 4])[0] or len(b)
            else:
                break
    bins = {}
    for t in times:
        bins[int(t * 10)] = bins.get(int(t * 10), 0) + 1
    span = (max(times) - min(times)) * 1000 if times else 0
    print("lookups %d peak %d span %d" % (len(times), max(bins.values()) if bins else 0, span))


def standby_probe(dst, tport, uport):
    res = []
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect((dst, tport))
        res.append("tcp open")
    except socket.timeout:
        res.append("tcp timeout")
    except ConnectionRefusedError:
        res.append("tcp refused")
    except OSError as e:
        res.append("tcp %s" % e.__class__.__name__)
    s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(1.0)
    u.connect((dst, uport))
    try:
        u.send(b"standby?")
        u.recv(100)
        res.append("udp answer")
    except socket.timeout:
        res.append("udp timeout")
    except ConnectionRefusedError:
        res.append("udp refused")
    print(" ".join(res))


def spoof(iface, mac, src, dst, tport, dport, hport):
    from scapy.all import Ether, IP, TCP, UDP, sendp
    base = Ether(dst=mac) / IP(src=src, dst=dst)
    frames = [base / TCP(sport=tport, dport=dport, flags="PA", seq=1000, ack=2000) / b"spoofed!",
              base / TCP(sport=tport, dport=dport, flags="R", seq=1008),
              base / TCP(sport=tport, dport=dport, flags="S", seq=5000),
              base / UDP(sport=hport, dport=hport) / b"\x10\x00spoofed"]
    sendp(frames, iface=iface, verbose=False)
    print("spoof %d" % len(frames))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "dnsloop":
        dnsloop(args[0], args[1], args[2:])
    elif cmd == "dnsreport":
        dnsreport(args[0], args[1], float(args[2]), float(args[3]))
    elif cmd == "sent":
        w = [(float(args[i]), float("inf") if args[i + 1] == "end" else float(args[i + 1]))
             for i in range(1, len(args) - 1, 2)]
        sent(args[0], w)
    elif cmd == "ras":
        ras(args[0])
    elif cmd == "lookups":
        lookups(args[0], args[1], int(args[2]), float(args[3]), float(args[4]))
    elif cmd == "spoof":
        spoof(args[0], args[1], args[2], args[3], int(args[4]), int(args[5]), int(args[6]))
    elif cmd == "standby-probe":
        standby_probe(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
