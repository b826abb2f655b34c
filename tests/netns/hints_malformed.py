#!/usr/bin/python3
"""Helper of tests/netns/hints.sh (runs in the client namespace; not a test
by itself). Sends malformed Router Solicitations and DHCPv6 messages to the
appliance, checks that none of the DHCPv6 ones is answered, then checks that
a well-formed Information-Request still is, with the transaction id and the
client id echoed.

usage: hints_malformed.py IFACE [GLOBAL_SOURCE]
Prints one line per check ("ok ..." / "FAIL ..."); exits 1 if any failed.
"""
import os
import select
import socket
import struct
import sys

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IPv6, ICMPv6ND_RS, Raw, sendp  # noqa: E402

iface = sys.argv[1]
failed = 0


def report(good, what):
    global failed
    print(("ok " if good else "FAIL ") + what, flush=True)
    if not good:
        failed += 1


# --- Router Solicitations (RFC 4861 6.1.1 says drop each of these) ---
eth = Ether(dst="33:33:00:00:00:02")
rs_bad = [
    ("hop limit 64", IPv6(dst="ff02::2", hlim=64) / ICMPv6ND_RS()),
    ("code 1", IPv6(dst="ff02::2", hlim=255) / ICMPv6ND_RS(code=1)),
    ("zero-length option", IPv6(dst="ff02::2", hlim=255) / ICMPv6ND_RS() /
     Raw(b"\x01\x00" + b"\x00" * 6)),
    ("option overrun", IPv6(dst="ff02::2", hlim=255) / ICMPv6ND_RS() /
     Raw(b"\x01\x04" + b"\x00" * 6)),
    ("SLLA from ::", IPv6(src="::", dst="ff02::2", hlim=255) / ICMPv6ND_RS() /
     Raw(b"\x01\x01\x02\x00\x00\x00\x00\x01")),
]
for name, pkt in rs_bad:
    sendp(eth / pkt, iface=iface, verbose=False)
    report(True, "sent malformed RS: " + name)

# --- DHCPv6 ---
CLIENT_DUID = bytes([0, 3, 0, 1, 2, 0, 0, 0, 0x64, 0x64])
ifindex = socket.if_nametoindex(iface)
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 546, 0, ifindex))
dst = ("ff02::1:2", 547, 0, ifindex)


def opt(code, body):
    return struct.pack("!HH", code, len(body)) + body


def wait_reply(xid, timeout):
    """Returns the first message with this transaction id, or None."""
    end = timeout
    while end > 0:
        r, _, _ = select.select([s], [], [], min(end, 0.2))
        end -= 0.2
        if r:
            data, _ = s.recvfrom(2048)
            if len(data) >= 4 and data[1:4] == xid:
                return data
    return None


def inforeq(xid, *opts):
    return bytes([11]) + xid + b"".join(opts)


bad = [
    ("3-octet message", b"\x0b\x01\x02"),
    ("option header cut", inforeq(b"\x00\x00\x01", b"\x00\x01\x00")),
    ("option length past the end", inforeq(b"\x00\x00\x02", struct.pack("!HH", 1, 200) + CLIENT_DUID)),
    ("option length 65535", inforeq(b"\x00\x00\x03", struct.pack("!HH", 6, 0xffff))),
    ("odd ORO", inforeq(b"\x00\x00\x04", opt(6, b"\x00\x17\x00"))),
    ("two client ids", inforeq(b"\x00\x00\x05", opt(1, CLIENT_DUID), opt(1, CLIENT_DUID))),
    ("IA_NA in information-request", inforeq(b"\x00\x00\x06", opt(3, bytes(12)))),
    ("another server's id", inforeq(b"\x00\x00\x07", opt(2, bytes([0, 3, 0, 1, 9, 9, 9, 9, 9, 9])))),
    ("solicit without client id", bytes([1]) + b"\x00\x00\x08" + opt(3, bytes(12))),
    ("relay-forw", bytes([12, 0]) + bytes(32)),
    ("a Reply sent to the server", bytes([7]) + b"\x00\x00\x0a" + opt(1, CLIENT_DUID)),
]
for name, msg in bad:
    s.sendto(msg, dst)
# A well-formed Information-Request from a global source address: only
# on-link clients (link-local sources, RFC 8415 13.1) are answered.
if len(sys.argv) > 2:
    pktinfo = socket.inet_pton(socket.AF_INET6, sys.argv[2]) + struct.pack("@I", ifindex)
    s.sendmsg([inforeq(b"\x00\x00\x0b", opt(1, CLIENT_DUID))],
              [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)], 0, dst)
    bad.append(("global source", b""))

# None may be answered: collect whatever arrives until 1.5 s of silence.
answers = []
end_wait = 1.5
while True:
    r, _, _ = select.select([s], [], [], end_wait)
    if not r:
        break
    data, _ = s.recvfrom(2048)
    answers.append(data)
    end_wait = 0.5
report(not answers, "no answer to %d malformed DHCPv6 messages (%d answers)" % (len(bad), len(answers)))

# --- a good one still works ---
xid = os.urandom(3)
good = inforeq(xid, opt(1, CLIENT_DUID), opt(6, struct.pack("!HHH", 23, 24, 32)),
               opt(8, b"\x00\x00"))
s.sendto(good, dst)
rep = wait_reply(xid, 5)
report(rep is not None, "a well-formed Information-Request is answered")
if rep is not None:
    report(rep[0] == 7, "the answer is a Reply")
    found = {}
    off = 4
    while off + 4 <= len(rep):
        code, ln = struct.unpack("!HH", rep[off:off + 4])
        found[code] = rep[off + 4:off + 4 + ln]
        off += 4 + ln
    report(found.get(1) == CLIENT_DUID, "client id echoed")
    report(2 in found and len(found[2]) >= 3, "server id present")
    report(23 in found and len(found[23]) % 16 == 0 and len(found[23]) > 0, "option 23 present")
    # Solicit gets an Advertise with NoAddrsAvail.
    xid2 = os.urandom(3)
    s.sendto(bytes([1]) + xid2 + opt(1, CLIENT_DUID) + opt(3, bytes(12)) + opt(8, b"\x00\x00"), dst)
    adv = wait_reply(xid2, 5)
    report(adv is not None and adv[0] == 2, "Solicit is answered with an Advertise")
    if adv is not None:
        st = None
        off = 4
        while off + 4 <= len(adv):
            code, ln = struct.unpack("!HH", adv[off:off + 4])
            if code == 13 and ln >= 2:
                st = struct.unpack("!H", adv[off + 4:off + 6])[0]
            off += 4 + ln
        report(st == 2, "Advertise carries status NoAddrsAvail (got %r)" % st)

sys.exit(1 if failed else 0)
