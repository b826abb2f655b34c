#!/usr/bin/python3
"""Both ends of tests/netns/nat64_offload.sh: bulk TCP and UDP GSO through
the translator, checked end to end.

  recv-tcp PORT             accept one connection, read to EOF, print
                            "sha256 HEX OCTETS"
  send-tcp HOST PORT FILE   connect, send FILE, close
  serve-file PORT FILE      accept one connection, send FILE, close
  fetch-tcp HOST PORT       connect, read to EOF, print "sha256 HEX OCTETS"
  udp-gso-send HOST PORT N SEG
                            N datagrams of SEG octets, 16 per sendmsg as
                            one UDP GSO super-packet (UDP_SEGMENT), paced
                            so that the receiver's socket keeps up
  udp-send HOST PORT N SEG  the same datagrams one by one (16 back to back,
                            then a pause)
  udp-recv PORT N SEG       receive until N datagrams or 5 s of silence;
                            print "udp GOOD BAD" (datagrams whose content is
                            right / wrong; a bad checksum never arrives)
  udp-gso-reflect PORT N SEG
                            wait for one datagram, answer its source with N
                            datagrams of SEG octets as UDP GSO
  udp-gso-pull HOST PORT N SEG
                            say hello to HOST:PORT, then like udp-recv
Datagram k carries its number and a pattern derived from it.
"""
import hashlib
import socket
import struct
import sys
import time

UDP_SEGMENT = 103
SO_RCVBUFFORCE = 33
BATCH = 16


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listener(port, kind=socket.SOCK_STREAM):
    for fam, addr in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        try:
            s = socket.socket(fam, kind)
            if fam == socket.AF_INET6:  # the IPv4-only host may refuse
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            break
        except OSError:
            s.close()
    if kind == socket.SOCK_STREAM:
        s.listen(1)
    return s


def drain(conn):
    h, n = hashlib.sha256(), 0
    buf = bytearray(1 << 20)
    while True:
        k = conn.recv_into(buf)
        if k == 0:
            break
        h.update(memoryview(buf)[:k])
        n += k
    print("sha256", h.hexdigest(), n, flush=True)


def pour(conn, path):
    with open(path, "rb") as f:
        conn.sendfile(f)
    conn.shutdown(socket.SHUT_WR)
    conn.settimeout(30)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def datagram(k, seg):
    head = struct.pack("!I", k)
    body = hashlib.sha256(head).digest() * (seg // 32 + 1)
    return head + body[: seg - 4]


def gso_send(s, n, seg, dest=None, gso=True):
    if gso:
        s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, seg)
    for first in range(0, n, BATCH):
        if not gso:
            for k in range(first, min(n, first + BATCH)):
                s.send(datagram(k, seg))
            time.sleep(0.002)
            continue
        burst = b"".join(datagram(k, seg) for k in range(first, min(n, first + BATCH)))
        if dest:
            s.sendto(burst, dest)
        else:
            s.send(burst)
        time.sleep(0.002)


def count(s, n, seg):
    # Room for every datagram of the run: a receiver descheduled on a loaded
    # machine must not lose datagrams the translator delivered (the default
    # buffer holds about 100 of them, 12 ms of this sender).
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    s.settimeout(5)
    good = bad = 0
    seen = set()
    while good + bad < n:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if len(d) >= 4:
            k = struct.unpack("!I", d[:4])[0]
            if d == datagram(k, seg) and k not in seen:
                seen.add(k)
                good += 1
                continue
        bad += 1
    print("udp", good, bad, flush=True)


def main(argv):
    cmd = argv[1]
    if cmd == "recv-tcp":
        conn, _ = listener(int(argv[2])).accept()
        drain(conn)
    elif cmd == "send-tcp":
        c = socket.create_connection((argv[2], int(argv[3])), timeout=60)
        pour(c, argv[4])
    elif cmd == "serve-file":
        conn, _ = listener(int(argv[2])).accept()
        pour(conn, argv[3])
    elif cmd == "fetch-tcp":
        c = socket.create_connection((argv[2], int(argv[3])), timeout=60)
        drain(c)
    elif cmd == "udp-gso-send":
        s = socket.socket(family(argv[2]), socket.SOCK_DGRAM)
        s.connect((argv[2], int(argv[3])))
        gso_send(s, int(argv[4]), int(argv[5]))
    elif cmd == "udp-send":
        s = socket.socket(family(argv[2]), socket.SOCK_DGRAM)
        s.connect((argv[2], int(argv[3])))
        gso_send(s, int(argv[4]), int(argv[5]), gso=False)
    elif cmd == "udp-recv":
        count(listener(int(argv[2]), socket.SOCK_DGRAM), int(argv[3]), int(argv[4]))
    elif cmd == "udp-gso-reflect":
        s = listener(int(argv[2]), socket.SOCK_DGRAM)
        _, peer = s.recvfrom(2048)
        gso_send(s, int(argv[3]), int(argv[4]), peer)
    elif cmd == "udp-gso-pull":
        s = socket.socket(family(argv[2]), socket.SOCK_DGRAM)
        s.connect((argv[2], int(argv[3])))
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        s.send(b"hello")
        count(s, int(argv[4]), int(argv[5]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
