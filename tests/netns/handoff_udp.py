#!/usr/bin/python3
"""UDP through the NAT64 to a handoff server, every socket in this process.

Usage: handoff_udp.py CLIENT_NETNS SERVER_NETNS SERVER4 DEST6 PORT OTHER_NETNS OTHER4

A client socket in CLIENT_NETNS (IPv6, one port for the whole run), the
server application's socket SERVER4:PORT in SERVER_NETNS and a second IPv4
socket OTHER4:PORT in OTHER_NETNS (a host without sixfour-handoffd); both
IPv4 sockets have IP_RECVERR, so an ICMP error about what they sent lands
in their error queue. The server records the source of the client's last
datagram (the NAT64's pool address and port): "the peer". Commands on
stdin, one answer line each on stdout:
  c2s TEXT           -> "ok CLIENT_PORT PEER_ADDR PEER_PORT" when the server
                        read TEXT (the peer is recorded), else "fail ..."
  s2c TEXT           -> the server sends TEXT to the peer: "ok" when the
                        client read it, else "fail ..."
  send WHO TEXT [PORT] -> WHO (server|other) sends TEXT to the peer's address
                        and PORT (default: the peer's port): "sent"
  quiet SECS         -> "quiet" when the client read nothing for SECS, else
                        "got TEXT"
  errors WHO SECS    -> drains WHO's error queue for SECS (at most, returns
                        after the first error): "errors N" then, per error,
                        " TYPE/CODE/OFFENDER/DST_PORT"
  quit
"""
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from handoff_conn import commands, socket_in  # noqa: E402

IP_RECVERR = 11	# linux/in.h


def recv_text(sock, secs):
    """The first datagram within secs, or None."""
    r, _, _ = select.select([sock], [], [], secs)
    return sock.recvfrom(65535) if r else None


def send(sock, data, dst):
    for _ in range(2):
        try:
            sock.sendto(data, dst)
            return
        except OSError:
            pass	# an error queued before reports itself here: once more


def errors(sock, secs):
    """ICMP errors in sock's error queue within secs (after the first one,
    whatever else is queued)."""
    got, end = [], time.monotonic() + secs
    while True:
        try:
            _, anc, _, dst = sock.recvmsg(512, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except BlockingIOError:
            if got or time.monotonic() >= end:
                break
            time.sleep(0.02)
            continue
        for _level, _kind, data in anc:
            # struct sock_extended_err, then the offender's sockaddr_in;
            # the message's name is the datagram's destination.
            _errno, _origin, typ, code = struct.unpack_from("=IBBB", data)
            off = socket.inet_ntop(socket.AF_INET, data[16 + 4:16 + 8])
            got.append("%d/%d/%s/%d" % (typ, code, off, dst[1]))
    return "errors %d%s" % (len(got), "".join(" " + g for g in got))


def main():
    cns, sns, server4, dest6, port, ons, other4 = sys.argv[1:8]
    port = int(port)
    socks = {}
    for name, ns, addr in (("server", sns, server4), ("other", ons, other4)):
        s = socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, port))
        s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        socks[name] = s
    cli = socket_in(cns, socket.AF_INET6, socket.SOCK_DGRAM)
    cli.bind(("::", 0))
    srv = socks["server"]
    peer = None
    out = sys.stdout
    for args in commands():
        cmd = args[0]
        try:
            if cmd == "c2s":
                text = args[1].encode()
                send(cli, text, (dest6, port))
                got = recv_text(srv, 5)
                if got and got[0] == text:
                    peer = got[1]
                    print("ok %d %s %d" % (cli.getsockname()[1], peer[0], peer[1]), file=out)
                else:
                    print("fail got %r" % (got,), file=out)
            elif cmd == "s2c":
                text = args[1].encode()
                send(srv, text, peer)
                got = recv_text(cli, 5)
                print("ok" if got and got[0] == text else "fail got %r" % (got,), file=out)
            elif cmd == "send":
                dport = int(args[3]) if len(args) > 3 else peer[1]
                send(socks[args[1]], args[2].encode(), (peer[0], dport))
                print("sent", file=out)
            elif cmd == "quiet":
                got = recv_text(cli, float(args[1]))
                print("quiet" if not got else "got %r" % (got[0],), file=out)
            elif cmd == "errors":
                print(errors(socks[args[1]], float(args[2])), file=out)
            elif cmd == "quit":
                break
            else:
                print("fail unknown command", file=out)
        except (OSError, TypeError, IndexError, KeyError) as e:
            print("fail %s" % e, file=out)
        out.flush()


if __name__ == "__main__":
    main()
