#!/usr/bin/python3
"""Generates tests/unit/xlate_vectors.h: packet vectors for the RFC 7915
translation rules, built and checksummed by scapy, so that the unit test
needs no scapy. Run once after changing a vector:

    /usr/bin/python3 tests/unit/gen_xlate_vectors.py > tests/unit/xlate_vectors.h

Each vector: the packet in, the verdict of the determine step and of the
translation step, the tuple the determine step must find, the tuple the
state layer would hand back, and the packets out (independently built here:
the expected header fields are written from the RFC, not from the C code).
"""
import ipaddress
import sys

from scapy.all import (IP, TCP, UDP, ICMP, IPv6, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting,
                       ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6DestUnreach,
                       ICMPv6PacketTooBig, ICMPv6TimeExceeded, ICMPv6ParamProblem,
                       ICMPv6ND_RS, ICMPv6MLQuery, IPOption_RR, IPOption_LSRR,
                       Raw, conf)

conf.verb = 0

WKP = "64:ff9b::"
# Translate prefixes of every RFC 6052 length; none overlaps another.
PREFIXES = [
    (WKP, 96),
    ("3fff:32::", 32),
    ("3fff:40:100::", 40),
    ("3fff:48:48::", 48),
    ("3fff:56:56:5600::", 56),
    ("3fff:64:64:64::", 64),
    ("3fff:96:96:96:96:96::", 96),
]
CLIENT = "2001:db8:1::100"
SERVER4 = "192.88.99.80"
POOL4 = "198.51.100.1"
ROUTER4 = "192.88.99.254"
OWN4 = "192.88.99.1"
OWN6 = "2001:db8:1::1"
ID_START = 0x4d2


def embed(prefix, plen, v4):
    """RFC 6052 2.2, written from the RFC text: octets of the IPv4 address
    go after the prefix, skipping octet 8 (bits 64-71, the u octet)."""
    p = bytearray(ipaddress.IPv6Address(prefix).packed)
    for i in range(plen // 8, 16):
        p[i] = 0
    pos = plen // 8
    for b in ipaddress.IPv4Address(v4).packed:
        if pos == 8:
            pos += 1
        p[pos] = b
        pos += 1
    return str(ipaddress.IPv6Address(bytes(p)))


S6 = embed(WKP, 96, SERVER4)          # the server as the client sees it
R6 = embed(WKP, 96, ROUTER4)

vectors = []


def vec(name, direction, pkt, det="CONTINUE", xl="CONTINUE", out=(), ot=None,
        tuple_=None, cfg=None, err=None, err_out=()):
    """direction 6: IPv6 in, IPv4 out; 4: the reverse.
    ot: (src, sport, dst, dport) handed to the translation step.
    tuple_: (sport, dport, extracted IPv4 dst or None).
    err: (type, code, param) the determine step asks nat64_icmp_error for."""
    vectors.append(dict(name=name, dir=direction, inp=bytes(pkt), det=det, xl=xl,
                        out=[bytes(p) for p in out], ot=ot, tuple=tuple_,
                        cfg=cfg or {}, err=err, err_out=[bytes(p) for p in err_out]))


def ot64(sport, dport, dst4=SERVER4):
    return (POOL4, sport, dst4, dport)


def ot46(sport, dport, src6=S6):
    return (src6, sport, CLIENT, dport)


PAYLOAD = b"sixfour translates this. " * 4

# --- core directions -------------------------------------------------------
vec("6to4 TCP SYN, traffic class to TOS, hop limit - 1, DF=0 small", 6,
    IPv6(src=CLIENT, dst=S6, tc=0xb8, hlim=64) /
    TCP(sport=40000, dport=80, flags="S", seq=1000, window=64800),
    out=[IP(src=POOL4, dst=SERVER4, tos=0xb8, ttl=63, id=ID_START, flags=0) /
         TCP(sport=61001, dport=80, flags="S", seq=1000, window=64800)],
    ot=ot64(61001, 80), tuple_=(40000, 80, SERVER4))

vec("6to4 UDP with payload", 6,
    IPv6(src=CLIENT, dst=S6, hlim=10) / UDP(sport=5353, dport=53) / Raw(PAYLOAD),
    out=[IP(src=POOL4, dst=SERVER4, ttl=9, id=ID_START) /
         UDP(sport=62000, dport=53) / Raw(PAYLOAD)],
    ot=ot64(62000, 53), tuple_=(5353, 53, SERVER4))

vec("6to4 ICMPv6 echo request -> ICMPv4 echo, identifier from the tuple", 6,
    IPv6(src=CLIENT, dst=S6) / ICMPv6EchoRequest(id=0x1111, seq=7, data=PAYLOAD),
    out=[IP(src=POOL4, dst=SERVER4, ttl=63, id=ID_START) /
         ICMP(type=8, id=0x2222, seq=7) / Raw(PAYLOAD)],
    ot=ot64(0x2222, 0x2222), tuple_=(0x1111, 0x1111, SERVER4))

vec("6to4 ICMPv6 echo reply", 6,
    IPv6(src=CLIENT, dst=S6) / ICMPv6EchoReply(id=0x3333, seq=1, data=b"x" * 5),
    out=[IP(src=POOL4, dst=SERVER4, ttl=63, id=ID_START) /
         ICMP(type=0, id=0x4444, seq=1) / Raw(b"x" * 5)],
    ot=ot64(0x4444, 0x4444), tuple_=(0x3333, 0x3333, SERVER4))

big = b"B" * 1300
vec("6to4 TCP 1360 octets -> DF=1, ID 0 (RFC 7915 5.1)", 6,
    IPv6(src=CLIENT, dst=S6) / TCP(sport=40001, dport=443, flags="PA") / Raw(big),
    out=[IP(src=POOL4, dst=SERVER4, ttl=63, id=0, flags="DF") /
         TCP(sport=61002, dport=443, flags="PA") / Raw(big)],
    ot=ot64(61002, 443), tuple_=(40001, 443, SERVER4))

edge = b"E" * (1260 - 20 - 8)
vec("6to4 UDP exactly 1260 octets as IPv4 -> DF=0", 6,
    IPv6(src=CLIENT, dst=S6) / UDP(sport=1, dport=2) / Raw(edge),
    out=[IP(src=POOL4, dst=SERVER4, ttl=63, id=ID_START) / UDP(sport=3, dport=2) / Raw(edge)],
    ot=ot64(3, 2), tuple_=(1, 2, SERVER4))

vec("6to4 UDP 1261 octets as IPv4 -> DF=1", 6,
    IPv6(src=CLIENT, dst=S6) / UDP(sport=1, dport=2) / Raw(edge + b"!"),
    out=[IP(src=POOL4, dst=SERVER4, ttl=63, id=0, flags="DF") /
         UDP(sport=3, dport=2) / Raw(edge + b"!")],
    ot=ot64(3, 2), tuple_=(1, 2, SERVER4))

vec("4to6 TCP SYN-ACK, TOS to traffic class", 4,
    IP(src=SERVER4, dst=POOL4, tos=0x28, ttl=50, id=999, flags="DF") /
    TCP(sport=80, dport=61001, flags="SA", seq=5, ack=1001),
    out=[IPv6(src=S6, dst=CLIENT, tc=0x28, hlim=49) /
         TCP(sport=80, dport=40000, flags="SA", seq=5, ack=1001)],
    ot=ot46(80, 40000), tuple_=(80, 61001, None))

vec("4to6 UDP", 4,
    IP(src=SERVER4, dst=POOL4, ttl=64) / UDP(sport=53, dport=62000) / Raw(PAYLOAD),
    out=[IPv6(src=S6, dst=CLIENT, hlim=63) / UDP(sport=53, dport=5353) / Raw(PAYLOAD)],
    ot=ot46(53, 5353), tuple_=(53, 62000, None))

u0 = IP(src=SERVER4, dst=POOL4, ttl=64) / UDP(sport=53, dport=62000, chksum=0) / Raw(PAYLOAD)
vec("4to6 UDP zero checksum -> computed for IPv6 (RFC 7915 4.5)", 4, u0,
    out=[IPv6(src=S6, dst=CLIENT, hlim=63) / UDP(sport=53, dport=5353) / Raw(PAYLOAD)],
    ot=ot46(53, 5353), tuple_=(53, 62000, None))

vec("4to6 ICMPv4 echo reply -> ICMPv6 echo reply", 4,
    IP(src=SERVER4, dst=POOL4) / ICMP(type=0, id=0x2222, seq=7) / Raw(PAYLOAD),
    out=[IPv6(src=S6, dst=CLIENT, hlim=63) / ICMPv6EchoReply(id=0x1111, seq=7, data=PAYLOAD)],
    ot=ot46(0x1111, 0x1111), tuple_=(0x2222, 0x2222, None))

vec("4to6 ICMPv4 echo request -> ICMPv6 echo request", 4,
    IP(src=SERVER4, dst=POOL4) / ICMP(type=8, id=0x2222, seq=9) / Raw(b"ping"),
    out=[IPv6(src=S6, dst=CLIENT, hlim=63) / ICMPv6EchoRequest(id=0x1111, seq=9, data=b"ping")],
    ot=ot46(0x1111, 0x1111), tuple_=(0x2222, 0x2222, None))

# --- RFC 6052 addressing for every prefix length ----------------------------
for pfx, plen in PREFIXES:
    dst = embed(pfx, plen, "203.0.113.9" if pfx != WKP else SERVER4)
    v4 = "203.0.113.9" if pfx != WKP else SERVER4
    vec("6to4 prefix /%d (%s) extracts %s" % (plen, pfx, v4), 6,
        IPv6(src=CLIENT, dst=dst) / UDP(sport=7, dport=7) / Raw(b"echo"),
        out=[IP(src=POOL4, dst=v4, ttl=63, id=ID_START) / UDP(sport=8, dport=7) / Raw(b"echo")],
        ot=ot64(8, 7, v4), tuple_=(7, 7, v4))
    src6 = embed(pfx, plen, v4)
    vec("4to6 prefix /%d (%s) source %s" % (plen, pfx, src6), 4,
        IP(src=v4, dst=POOL4) / UDP(sport=7, dport=8) / Raw(b"echo"),
        out=[IPv6(src=src6, dst=CLIENT, hlim=63) / UDP(sport=7, dport=7) / Raw(b"echo")],
        ot=ot46(7, 7, src6), tuple_=(7, 8, None))

for v4 in ["10.0.0.1", "192.168.1.1", "127.0.0.1", "169.254.1.1", "100.64.0.1", "224.0.0.1"]:
    # RFC 6052 3.1 forbids the translation; the client hears at once
    # (ICMPv6 Destination Unreachable, no route: RFC 4443 3.1).
    ng = IPv6(src=CLIENT, dst=embed(WKP, 96, v4)) / UDP(sport=1, dport=2)
    vec("6to4 non-global %s under the WKP refused with Destination Unreachable" % v4, 6, ng,
        det="DROP_NON_GLOBAL_V4", err=(1, 0, 0),
        err_out=[IPv6(src=OWN6, dst=CLIENT, hlim=64) / ICMPv6DestUnreach(code=0) / Raw(bytes(ng))])
vec("6to4 ICMPv6 error toward a non-global address: dropped, no error about an error", 6,
    IPv6(src=CLIENT, dst=embed(WKP, 96, "10.0.0.1")) / ICMPv6DestUnreach(code=4) /
    IPv6(src=embed(WKP, 96, "10.0.0.1"), dst=CLIENT) / UDP(sport=2, dport=1),
    det="DROP_NON_GLOBAL_V4")
vec("6to4 UDP with checksum 0 dropped (RFC 8200 8.1)", 6,
    IPv6(src=CLIENT, dst=S6) / UDP(sport=5353, dport=53, chksum=0) / Raw(PAYLOAD),
    det="DROP_UDP_ZERO_CHECKSUM")
vec("6to4 UDP with checksum 0xffff (a computed zero) translated", 6,
    IPv6(src=CLIENT, dst=S6) / UDP(sport=5353, dport=53) / Raw(PAYLOAD),
    out=[IP(src=POOL4, dst=SERVER4, ttl=63, id=ID_START) /
         UDP(sport=62000, dport=53) / Raw(PAYLOAD)],
    ot=ot64(62000, 53), tuple_=(5353, 53, SERVER4))
vec("6to4 10.0.0.1 under a network-specific /96 is fine", 6,
    IPv6(src=CLIENT, dst=embed("3fff:96:96:96:96:96::", 96, "10.0.0.1")) / UDP(sport=1, dport=2),
    out=[IP(src=POOL4, dst="10.0.0.1", ttl=63, id=ID_START) / UDP(sport=1, dport=2)],
    ot=ot64(1, 2, "10.0.0.1"), tuple_=(1, 2, "10.0.0.1"))
vec("6to4 destination outside every translate prefix", 6,
    IPv6(src=CLIENT, dst="2001:db8:2::1") / UDP(sport=1, dport=2),
    det="DROP_NOT_OUR_PREFIX")

# --- extension headers and IPv4 options -------------------------------------
vec("6to4 hop-by-hop + destination options + routing (segments left 0) skipped", 6,
    IPv6(src=CLIENT, dst=S6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
    IPv6ExtHdrRouting(addresses=["2001:db8:1::9"], segleft=0) / UDP(sport=9, dport=9) / Raw(b"ext"),
    out=[IP(src=POOL4, dst=SERVER4, ttl=63, id=ID_START) / UDP(sport=9, dport=9) / Raw(b"ext")],
    ot=ot64(9, 9), tuple_=(9, 9, SERVER4))
rh = (IPv6(src=CLIENT, dst=S6) / IPv6ExtHdrRouting(addresses=["2001:db8:1::9"], segleft=1) /
      UDP(sport=9, dport=9))
vec("6to4 routing header with segments left -> Parameter Problem pointer 43", 6, rh,
    det="DROP_EXT_HEADER", err=(4, 0, 43),
    err_out=[IPv6(src=OWN6, dst=CLIENT, hlim=64) / ICMPv6ParamProblem(code=0, ptr=43) / Raw(bytes(rh))])
vec("6to4 unknown upper layer (GRE)", 6,
    IPv6(src=CLIENT, dst=S6, nh=47) / Raw(b"\x00" * 8), det="DROP_UNKNOWN_PROTO")
vec("6to4 hop-by-hop not first", 6,
    IPv6(src=CLIENT, dst=S6) / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP(),
    det="DROP_EXT_HEADER")

vec("4to6 IPv4 options (record route) ignored", 4,
    IP(src=SERVER4, dst=POOL4, options=[IPOption_RR(routers=["192.88.99.2"])]) /
    UDP(sport=53, dport=62000) / Raw(b"opt"),
    out=[IPv6(src=S6, dst=CLIENT, hlim=63) / UDP(sport=53, dport=5353) / Raw(b"opt")],
    ot=ot46(53, 5353), tuple_=(53, 62000, None))
def udp4_sum(src, dst, sport, dport, payload=b""):
    """The UDP checksum over the real destination: scapy would use the last
    hop of a source route option even when the route is used up."""
    return UDP(bytes(IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload))[20:]).chksum


lsrr = (IP(src=SERVER4, dst=POOL4, options=[IPOption_LSRR(routers=["192.88.99.2"], pointer=4)]) /
        UDP(sport=53, dport=62000))
vec("4to6 unexpired loose source route -> Source Route Failed", 4, lsrr,
    det="DROP_SOURCE_ROUTE", err=(3, 5, 0),
    err_out=[IP(src=OWN4, dst=SERVER4, ttl=64, id=ID_START) / ICMP(type=3, code=5) / Raw(bytes(lsrr))])
vec("4to6 expired loose source route translated", 4,
    IP(src=SERVER4, dst=POOL4, options=[IPOption_LSRR(routers=["192.88.99.2"], pointer=8)]) /
    UDP(sport=53, dport=62000, chksum=udp4_sum(SERVER4, POOL4, 53, 62000)),
    out=[IPv6(src=S6, dst=CLIENT, hlim=63) / UDP(sport=53, dport=5353)],
    ot=ot46(53, 5353), tuple_=(53, 62000, None))
vec("4to6 unknown upper layer (GRE)", 4,
    IP(src=SERVER4, dst=POOL4, proto=47) / Raw(b"\x00" * 8), det="DROP_UNKNOWN_PROTO")

# --- hop limit / TTL: Time Exceeded originated by the translator ------------
hl1 = IPv6(src=CLIENT, dst=S6, hlim=1) / UDP(sport=33434, dport=33435) / Raw(b"trace")
vec("6to4 hop limit 1 -> ICMPv6 Time Exceeded from the translator", 6, hl1, xl="ICMP_SENT",
    out=[IPv6(src=OWN6, dst=CLIENT, hlim=64) / ICMPv6TimeExceeded(code=0) / Raw(bytes(hl1))],
    ot=ot64(61010, 33435), tuple_=(33434, 33435, SERVER4))
ttl1 = IP(src=SERVER4, dst=POOL4, ttl=1) / UDP(sport=53, dport=62000) / Raw(b"x" * 600)
vec("4to6 TTL 1 -> ICMPv4 Time Exceeded, quote cut to 576", 4, ttl1, xl="ICMP_SENT",
    out=[IP(src=OWN4, dst=SERVER4, ttl=64, id=ID_START) / ICMP(type=11, code=0) /
         Raw(bytes(ttl1)[:576 - 28])],
    ot=ot46(53, 5353), tuple_=(53, 62000, None))

# --- ICMP errors, IPv6 -> IPv4 ----------------------------------------------
# The inner packet: what the IPv4 server sent (translated to IPv6) and an
# IPv6 node reports. Long enough to be cut to 576 octets as ICMPv4.
inner6 = (IPv6(src=S6, dst=CLIENT, hlim=30) / TCP(sport=80, dport=40000, flags="A", seq=77) /
          Raw(b"I" * 1000))
inner4 = bytes(IP(src=SERVER4, dst=POOL4, ttl=30, id=0, flags=0) /
               TCP(sport=80, dport=61001, flags="A", seq=77) / Raw(b"I" * 1000))


def err6to4(name, icmp6, t4, c4, extra=None, det="CONTINUE", cfg=None, xl="CONTINUE"):
    quote = bytes(inner6)[:1280 - 48]
    pkt = IPv6(src="2001:db8:1::fe", dst=S6, hlim=64) / icmp6 / Raw(quote)
    out = []
    if det == "CONTINUE" and xl == "CONTINUE":
        icmp4 = ICMP(type=t4, code=c4, **(extra or {}))
        out = [IP(src=POOL4, dst=SERVER4, ttl=63, id=ID_START) / icmp4 / Raw(inner4[:576 - 28])]
    vec(name, 6, pkt, det=det, xl=xl, out=out, ot=ot64(61001, 80),
        tuple_=(40000, 80, SERVER4) if det == "CONTINUE" else None, cfg=cfg)


for c6, c4 in [(0, 1), (1, 10), (2, 1), (3, 1), (4, 3)]:
    err6to4("6to4 Destination Unreachable code %d -> type 3 code %d" % (c6, c4),
            ICMPv6DestUnreach(code=c6), 3, c4)
err6to4("6to4 Destination Unreachable code 5 dropped", ICMPv6DestUnreach(code=5), 0, 0,
        det="DROP_ICMP_UNTRANSLATABLE")
err6to4("6to4 Packet Too Big 1400 -> Fragmentation Needed 1380", ICMPv6PacketTooBig(mtu=1400),
        3, 4, {"nexthopmtu": 1380})
err6to4("6to4 Packet Too Big 1500, IPv4 next hop 1300 -> 1300", ICMPv6PacketTooBig(mtu=1500),
        3, 4, {"nexthopmtu": 1300}, cfg={"ipv4_mtu": 1300})
err6to4("6to4 Packet Too Big 9000, IPv6 next hop 1400 -> 1380", ICMPv6PacketTooBig(mtu=9000),
        3, 4, {"nexthopmtu": 1380}, cfg={"ipv6_mtu": 1400})
for c in (0, 1):
    err6to4("6to4 Time Exceeded code %d" % c, ICMPv6TimeExceeded(code=c), 11, c)
for p6, p4 in [(0, 0), (1, 1), (4, 2), (5, 2), (6, 9), (7, 8), (8, 12), (23, 12), (24, 16), (39, 16)]:
    err6to4("6to4 Parameter Problem pointer %d -> %d" % (p6, p4),
            ICMPv6ParamProblem(code=0, ptr=p6), 12, 0, {"ptr": p4})
for p6 in (2, 3, 40, 1000):
    err6to4("6to4 Parameter Problem pointer %d has no IPv4 field" % p6,
            ICMPv6ParamProblem(code=0, ptr=p6), 0, 0, xl="DROP_ICMP_UNTRANSLATABLE")
err6to4("6to4 Parameter Problem code 1 -> Protocol Unreachable",
        ICMPv6ParamProblem(code=1, ptr=6), 3, 2)
err6to4("6to4 Parameter Problem code 2 dropped", ICMPv6ParamProblem(code=2, ptr=40), 0, 0,
        det="DROP_ICMP_UNTRANSLATABLE")

# Error about an echo request: the inner identifier is mapped back.
ie6 = IPv6(src=S6, dst=CLIENT) / ICMPv6EchoRequest(id=0x1111, seq=3, data=b"p" * 16)
ie4 = IP(src=SERVER4, dst=POOL4, ttl=64, id=0) / ICMP(type=8, id=0x2222, seq=3) / Raw(b"p" * 16)
vec("6to4 Destination Unreachable about an echo request (inner ICMP)", 6,
    IPv6(src="2001:db8:1::fe", dst=S6) / ICMPv6DestUnreach(code=4) / Raw(bytes(ie6)),
    out=[IP(src=POOL4, dst=SERVER4, ttl=63, id=ID_START) / ICMP(type=3, code=3) / Raw(bytes(ie4))],
    ot=ot64(0x2222, 0x2222), tuple_=(0x1111, 0x1111, SERVER4))
vec("6to4 error about an error dropped", 6,
    IPv6(src="2001:db8:1::fe", dst=S6) / ICMPv6DestUnreach(code=4) /
    Raw(bytes(IPv6(src=S6, dst=CLIENT) / ICMPv6DestUnreach() / Raw(b"z" * 48))),
    det="DROP_ICMP_ERROR_NESTED")
vec("6to4 ICMPv6 error with a bad checksum dropped", 6,
    IPv6(src="2001:db8:1::fe", dst=S6) / ICMPv6DestUnreach(code=4, cksum=0x1234) /
    Raw(bytes(ie6)), det="DROP_BAD_ICMP_CHECKSUM")
vec("6to4 Neighbor Discovery (Router Solicitation) dropped", 6,
    IPv6(src=CLIENT, dst=S6, hlim=255) / ICMPv6ND_RS(), det="DROP_ICMP_UNTRANSLATABLE")
vec("6to4 MLD query dropped", 6, IPv6(src=CLIENT, dst=S6) / ICMPv6MLQuery(),
    det="DROP_ICMP_UNTRANSLATABLE")
vec("6to4 ICMPv6 error with truncated inner header", 6,
    IPv6(src="2001:db8:1::fe", dst=S6) / ICMPv6DestUnreach(code=4) / Raw(bytes(inner6)[:30]),
    det="DROP_TRUNCATED")
vec("6to4 ICMPv6 error with inner ports cut", 6,
    IPv6(src="2001:db8:1::fe", dst=S6) / ICMPv6DestUnreach(code=4) / Raw(bytes(inner6)[:44]),
    det="DROP_TRUNCATED")

# --- ICMP errors, IPv4 -> IPv6 ----------------------------------------------
in4 = (IP(src=POOL4, dst=SERVER4, ttl=20, id=0x7777, flags="DF") /
       UDP(sport=61001, dport=9999) / Raw(b"Q" * 1400))
in6 = IPv6(src=CLIENT, dst=S6, hlim=20) / UDP(sport=40000, dport=9999) / Raw(b"Q" * 1400)


def err4to6(name, icmp4, t6cls, extra=None, det="CONTINUE", xl="CONTINUE", cfg=None,
            router=ROUTER4, src6=None, inner=None):
    q4 = bytes(inner or in4)[:576 - 28]
    pkt = IP(src=router, dst=POOL4, ttl=60) / icmp4 / Raw(q4)
    out = []
    if det == "CONTINUE" and xl == "CONTINUE":
        q6 = bytes(in6)[:1280 - 48]
        out = [IPv6(src=src6 or embed(WKP, 96, router), dst=CLIENT, hlim=59) /
               t6cls(**(extra or {})) / Raw(q6[:len(q4) + 20])]
    vec(name, 4, pkt, det=det, xl=xl, out=out, ot=ot46(9999, 40000),
        tuple_=(9999, 61001, None) if det == "CONTINUE" else None, cfg=cfg)


for c4, c6 in [(0, 0), (1, 0), (3, 4), (5, 0), (6, 0), (7, 0), (8, 0), (9, 1), (10, 1),
               (11, 0), (12, 0), (13, 1), (15, 1)]:
    err4to6("4to6 Destination Unreachable code %d -> type 1 code %d" % (c4, c6),
            ICMP(type=3, code=c4), ICMPv6DestUnreach, {"code": c6})
err4to6("4to6 Destination Unreachable code 14 dropped", ICMP(type=3, code=14), None,
        det="DROP_ICMP_UNTRANSLATABLE")
err4to6("4to6 Protocol Unreachable -> Parameter Problem code 1 pointer 6",
        ICMP(type=3, code=2), ICMPv6ParamProblem, {"code": 1, "ptr": 6})
err4to6("4to6 Fragmentation Needed 1400 -> Packet Too Big 1420", ICMP(type=3, code=4, nexthopmtu=1400),
        ICMPv6PacketTooBig, {"mtu": 1420})
err4to6("4to6 Fragmentation Needed 576 -> Packet Too Big 1280 (IPv6 minimum)",
        ICMP(type=3, code=4, nexthopmtu=576), ICMPv6PacketTooBig, {"mtu": 1280})
err4to6("4to6 Fragmentation Needed 0, inner total 1428: no plateau >= 1280 below it -> 1280",
        ICMP(type=3, code=4, nexthopmtu=0), ICMPv6PacketTooBig, {"mtu": 1280})
big4 = (IP(src=POOL4, dst=SERVER4, ttl=20, id=0x7777, flags="DF") /
        UDP(sport=61001, dport=9999) / Raw(b"Q" * 3000))
big6 = IPv6(src=CLIENT, dst=S6, hlim=20) / UDP(sport=40000, dport=9999) / Raw(b"Q" * 3000)
# RFC 7915 4.2 puts the plateau itself in the ICMPv6 message (the greatest
# plateau below the quoted Total Length that is at least 1280).
vec("4to6 Fragmentation Needed 0, inner total 3028 -> plateau 2002", 4,
    IP(src=ROUTER4, dst=POOL4, ttl=60) / ICMP(type=3, code=4, nexthopmtu=0) /
    Raw(bytes(big4)[:576 - 28]),
    out=[IPv6(src=R6, dst=CLIENT, hlim=59) / ICMPv6PacketTooBig(mtu=2002) /
         Raw(bytes(big6)[:576 - 28 + 20])],
    ot=ot46(9999, 40000), tuple_=(9999, 61001, None))
vec("4to6 Fragmentation Needed 0, IPv6 next hop 1500 caps the plateau", 4,
    IP(src=ROUTER4, dst=POOL4, ttl=60) / ICMP(type=3, code=4, nexthopmtu=0) /
    Raw(bytes(big4)[:576 - 28]),
    out=[IPv6(src=R6, dst=CLIENT, hlim=59) / ICMPv6PacketTooBig(mtu=1500) /
         Raw(bytes(big6)[:576 - 28 + 20])],
    ot=ot46(9999, 40000), tuple_=(9999, 61001, None), cfg={"ipv6_mtu": 1500})
for c in (0, 1):
    err4to6("4to6 Time Exceeded code %d" % c, ICMP(type=11, code=c), ICMPv6TimeExceeded,
            {"code": c})
err4to6("4to6 Time Exceeded from a private router under the WKP: own address",
        ICMP(type=11, code=0), ICMPv6TimeExceeded, {"code": 0}, router="10.9.9.9", src6=OWN6)
for p4, p6 in [(0, 0), (1, 1), (2, 4), (3, 4), (8, 7), (9, 6), (12, 8), (15, 8), (16, 24), (19, 24)]:
    err4to6("4to6 Parameter Problem pointer %d -> %d" % (p4, p6), ICMP(type=12, code=0, ptr=p4),
            ICMPv6ParamProblem, {"code": 0, "ptr": p6})
err4to6("4to6 Parameter Problem code 2 (bad length) pointer 2 -> 4",
        ICMP(type=12, code=2, ptr=2), ICMPv6ParamProblem, {"code": 0, "ptr": 4})
for p4 in (4, 6, 10, 20):
    err4to6("4to6 Parameter Problem pointer %d has no IPv6 field" % p4,
            ICMP(type=12, code=0, ptr=p4), None, xl="DROP_ICMP_UNTRANSLATABLE")
err4to6("4to6 Parameter Problem code 1 dropped", ICMP(type=12, code=1), None,
        det="DROP_ICMP_UNTRANSLATABLE")
for t in (4, 5, 9, 10, 13, 14, 15, 16, 17, 18, 6, 42):
    vec("4to6 ICMPv4 type %d dropped" % t, 4,
        IP(src=ROUTER4, dst=POOL4) / ICMP(type=t, code=0) / Raw(bytes(in4)[:28]),
        det="DROP_ICMP_UNTRANSLATABLE")
vec("4to6 error about an error dropped", 4,
    IP(src=ROUTER4, dst=POOL4) / ICMP(type=3, code=1) /
    Raw(bytes(IP(src=POOL4, dst=SERVER4) / ICMP(type=3, code=3) / Raw(b"z" * 28))),
    det="DROP_ICMP_ERROR_NESTED")
ie4b = IP(src=POOL4, dst=SERVER4, ttl=64, id=5) / ICMP(type=8, id=0x2222, seq=3) / Raw(b"p" * 16)
ie6b = IPv6(src=CLIENT, dst=S6, hlim=64) / ICMPv6EchoRequest(id=0x1111, seq=3, data=b"p" * 16)
vec("4to6 Port Unreachable about an echo request (inner ICMP)", 4,
    IP(src=SERVER4, dst=POOL4) / ICMP(type=3, code=3) / Raw(bytes(ie4b)),
    out=[IPv6(src=S6, dst=CLIENT, hlim=63) / ICMPv6DestUnreach(code=4) / Raw(bytes(ie6b))],
    ot=ot46(0x1111, 0x1111), tuple_=(0x2222, 0x2222, None))
vec("4to6 ICMPv4 error with a bad checksum dropped", 4,
    IP(src=SERVER4, dst=POOL4) / ICMP(type=3, code=3, chksum=0x1234) / Raw(bytes(ie4b)),
    det="DROP_BAD_ICMP_CHECKSUM")
vec("4to6 ICMPv4 error with truncated inner header", 4,
    IP(src=ROUTER4, dst=POOL4) / ICMP(type=3, code=1) / Raw(bytes(in4)[:12]),
    det="DROP_TRUNCATED")

# --- PMTU: the translator's own Packet Too Big / Fragmentation Needed -------
p6 = IPv6(src=CLIENT, dst=S6) / TCP(sport=40001, dport=443, flags="A") / Raw(b"m" * 1400)
vec("6to4 DF=1 packet over the IPv4 MTU 1400 -> Packet Too Big 1420", 6, p6, xl="ICMP_SENT",
    out=[IPv6(src=OWN6, dst=CLIENT, hlim=64) / ICMPv6PacketTooBig(mtu=1420) /
         Raw(bytes(p6)[:1280 - 48])],
    ot=ot64(61002, 443), tuple_=(40001, 443, SERVER4), cfg={"ipv4_mtu": 1400})
p4 = IP(src=SERVER4, dst=POOL4, flags="DF") / TCP(sport=443, dport=61002, flags="A") / Raw(b"m" * 1400)
vec("4to6 DF=1 packet over the IPv6 MTU 1280 -> Fragmentation Needed 1260", 4, p4, xl="ICMP_SENT",
    out=[IP(src=OWN4, dst=SERVER4, ttl=64, id=ID_START) / ICMP(type=3, code=4, nexthopmtu=1260) /
         Raw(bytes(p4)[:576 - 28])],
    ot=ot46(443, 40001), tuple_=(443, 61002, None), cfg={"ipv6_mtu": 1280})

# --- fragments --------------------------------------------------------------
fu6 = IPv6(src=CLIENT, dst=S6) / UDP(sport=5000, dport=6000) / Raw(b"F" * 3000)
frags6 = [bytes(f) for f in __import__("scapy.all", fromlist=["fragment6"]).fragment6(
    IPv6(src=CLIENT, dst=S6) / IPv6ExtHdrFragment(id=0xabcd1234) / UDP(sport=5000, dport=6000) /
    Raw(b"F" * 3000), 1280)]
full4 = IP(src=POOL4, dst=SERVER4, ttl=63, id=0x1234, flags=0) / UDP(sport=61005, dport=6000) / \
    Raw(b"F" * 3000)
full4b = bytes(full4)
off = 0
for i, fb in enumerate(frags6):
    f = IPv6(fb)
    fh = f[IPv6ExtHdrFragment]
    data = bytes(fh.payload)
    # The same octets of the translated datagram, in an IPv4 fragment.
    seg = full4b[20 + fh.offset * 8: 20 + fh.offset * 8 + len(data)]
    o4 = IP(src=POOL4, dst=SERVER4, ttl=63, id=0x1234, proto=17, frag=fh.offset,
            flags="MF" if fh.m else 0) / Raw(seg)
    vec("6to4 fragment %d (offset %d, M=%d) -> IPv4 fragment fields (RFC 7915 5.1.1)" %
        (i, fh.offset * 8, fh.m), 6, fb, out=[o4], ot=ot64(61005, 6000),
        tuple_=(5000, 6000, SERVER4) if fh.offset == 0 else (0, 0, SERVER4))

full6 = IPv6(src=S6, dst=CLIENT, hlim=63) / UDP(sport=6000, dport=5000) / Raw(b"G" * 3000)
full6b = bytes(full6)
src4 = IP(src=SERVER4, dst=POOL4, id=0x5678) / UDP(sport=6000, dport=61005) / Raw(b"G" * 3000)
from scapy.all import fragment
for i, fb in enumerate(fragment(src4, 1480)):
    f = IP(bytes(fb))
    data = bytes(f.payload)
    o = f.frag * 8
    seg = full6b[40 + o: 40 + o + len(data)]
    pieces = []
    # Each IPv4 fragment is cut again to fit 1280 octets as IPv6.
    for s in range(0, len(seg), 1232):
        part = seg[s:s + 1232]
        last = s + 1232 >= len(seg)
        pieces.append(IPv6(src=S6, dst=CLIENT, hlim=63) /
                      IPv6ExtHdrFragment(nh=17, offset=(o + s) // 8, m=((1 if f.flags.MF else 0) if last else 1),
                                         id=0x5678) / Raw(part))
    vec("4to6 IPv4 fragment %d (offset %d) -> IPv6 fragment header, cut to 1280" % (i, o), 4,
        bytes(fb), out=pieces, ot=ot46(6000, 5000),
        tuple_=(6000, 61005, None) if o == 0 else (0, 0, None))

dfz = IP(src=SERVER4, dst=POOL4, id=0x6666, flags=0) / UDP(sport=6000, dport=61005) / Raw(b"H" * 2000)
w6 = bytes(IPv6(src=S6, dst=CLIENT, hlim=63) / UDP(sport=6000, dport=5000) / Raw(b"H" * 2000))[40:]
vec("4to6 DF=0 2028-octet packet -> two IPv6 fragments of at most 1280", 4, dfz,
    out=[IPv6(src=S6, dst=CLIENT, hlim=63) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0x6666) /
         Raw(w6[:1232]),
         IPv6(src=S6, dst=CLIENT, hlim=63) / IPv6ExtHdrFragment(nh=17, offset=1232 // 8, m=0, id=0x6666) /
         Raw(w6[1232:])],
    ot=ot46(6000, 5000), tuple_=(6000, 61005, None))
uz = [bytes(f) for f in fragment(IP(src=SERVER4, dst=POOL4, id=0x9999) /
                                 UDP(sport=6000, dport=61005, chksum=0) / Raw(b"Z" * 2000), 1480)]
vec("4to6 fragmented UDP without checksum dropped when not reassembling", 4, uz[0],
    det="DROP_FRAGMENT_UNCHECKSUMMED")

# --- truncated and malformed ------------------------------------------------
good6 = bytes(IPv6(src=CLIENT, dst=S6) / TCP(sport=1, dport=2))
good4 = bytes(IP(src=SERVER4, dst=POOL4) / TCP(sport=1, dport=2))
vec("6to4 empty packet", 6, b"", det="DROP_TRUNCATED")
vec("6to4 39 octets", 6, good6[:39], det="DROP_TRUNCATED")
vec("6to4 payload length beyond the packet", 6, good6[:50], det="DROP_TRUNCATED")
vec("6to4 IPv4 packet on the IPv6 side", 6, good4 + b"\x00" * 20, det="DROP_BAD_VERSION")
vec("6to4 TCP header cut (payload length honest)", 6,
    bytes(IPv6(src=CLIENT, dst=S6, nh=6, plen=12) / Raw(good6[40:52])), det="DROP_TRUNCATED")
vec("6to4 jumbo payload length 0", 6, bytes(IPv6(src=CLIENT, dst=S6, plen=0, nh=17)) + b"\0" * 8,
    det="DROP_BAD_HEADER")
vec("4to6 19 octets", 4, good4[:19], det="DROP_TRUNCATED")
vec("4to6 total length beyond the packet", 4, good4[:30], det="DROP_TRUNCATED")
bad = bytearray(good4)
bad[10] ^= 0xff
vec("4to6 bad header checksum", 4, bytes(bad), det="DROP_BAD_CHECKSUM")
vec("4to6 IHL 4", 4, bytes(IP(src=SERVER4, dst=POOL4, ihl=4) / TCP()), det="DROP_BAD_HEADER")
vec("4to6 IPv6 packet on the IPv4 side", 4, good6, det="DROP_BAD_VERSION")
vec("4to6 UDP header cut", 4, bytes(IP(src=SERVER4, dst=POOL4, proto=17) / Raw(b"\0" * 6)),
    det="DROP_TRUNCATED")


def fix_ipv4_checksum(b):
    """Recomputes the IPv4 header checksum of a hand-edited header."""
    ihl = (b[0] & 15) * 4
    b[10] = b[11] = 0
    s = sum((b[i] << 8) | b[i + 1] for i in range(0, ihl, 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    s = ~s & 0xffff
    b[10], b[11] = s >> 8, s & 0xff
    return bytes(b)


badopt = bytearray(bytes(IP(src=SERVER4, dst=POOL4, options=[IPOption_RR(routers=["192.88.99.2"])]) /
                         UDP()))
badopt[21] = 0x27      # record route length past the header
vec("4to6 option length runs past IHL", 4, fix_ipv4_checksum(badopt), det="DROP_BAD_HEADER")


# --- reassembly (frag.h): fragments in, whole datagrams out -----------------
reasm = []


def rvec(name, direction, frags, det="CONTINUE", out=(), ot=None, reassemble=True):
    reasm.append(dict(name=name, dir=direction, frags=[bytes(f) for f in frags], det=det,
                      out=[bytes(p) for p in out], ot=ot, reassemble=reassemble))


rvec("6to4 three IPv6 fragments -> one IPv4 datagram, DF=0, ID from the IPv6 ID", 6, frags6,
     out=[full4], ot=ot64(61005, 6000))
rvec("6to4 fragments out of order", 6, [frags6[2], frags6[0], frags6[1]], out=[full4],
     ot=ot64(61005, 6000))
rvec("6to4 duplicate fragment ignored", 6, [frags6[0], frags6[0], frags6[1], frags6[2]],
     out=[full4], ot=ot64(61005, 6000))
over = bytearray(frags6[1])
# Move the middle fragment back by 8 octets: it now overlaps the first.
fo = IPv6(frags6[1])[IPv6ExtHdrFragment].offset - 1
over[42:44] = bytes([(fo * 8) >> 8, ((fo * 8) & 0xf8) | 1])
rvec("6to4 overlapping fragments drop the datagram (RFC 5722)", 6, [frags6[0], bytes(over)],
     det="DROP_FRAGMENT_OVERLAP")
short = bytearray(frags6[2][:40 + 8 + 8])
short[4:6] = (16).to_bytes(2, "big")   # payload: fragment header + 8 octets
short[42:44] = (8).to_bytes(2, "big")  # offset 8, M = 0: "the last piece"
rvec("6to4 a last fragment ending before an earlier piece drops the datagram", 6,
     [frags6[1], bytes(short)], det="DROP_FRAGMENT_OVERLAP")
pe6 = IPv6(src=CLIENT, dst=S6) / IPv6ExtHdrFragment(id=0x77) / \
    ICMPv6EchoRequest(id=0x1111, seq=1, data=b"P" * 2000)
fpe6 = __import__("scapy.all", fromlist=["fragment6"]).fragment6(pe6, 1280)
rvec("6to4 fragmented ICMPv6 echo -> whole ICMPv4 echo", 6, fpe6,
     out=[IP(src=POOL4, dst=SERVER4, ttl=63, id=0x77, flags=0) / ICMP(type=8, id=0x2222, seq=1) /
          Raw(b"P" * 2000)], ot=ot64(0x2222, 0x2222))

v4frags = fragment(src4, 1480)
w6b = full6b[40:]


def cut6(payload, ident, nh):
    res = []
    for s_ in range(0, len(payload), 1232):
        last = s_ + 1232 >= len(payload)
        res.append(IPv6(src=S6, dst=CLIENT, hlim=63) /
                   IPv6ExtHdrFragment(nh=nh, offset=s_ // 8, m=0 if last else 1, id=ident) /
                   Raw(payload[s_:s_ + 1232]))
    return res


rvec("4to6 IPv4 fragments -> whole datagram cut into IPv6 fragments of 1280", 4, v4frags,
     out=cut6(w6b, 0x5678, 17), ot=ot46(6000, 5000))
rvec("4to6 IPv4 fragments reversed", 4, list(reversed(v4frags)), out=cut6(w6b, 0x5678, 17),
     ot=ot46(6000, 5000))
uzw = bytes(IPv6(src=S6, dst=CLIENT, hlim=63) / UDP(sport=6000, dport=5000) / Raw(b"Z" * 2000))[40:]
rvec("4to6 fragmented UDP without checksum: reassembled, checksum computed", 4, uz,
     out=cut6(uzw, 0x9999, 17), ot=ot46(6000, 5000))
rvec("4to6 fragmented UDP without checksum: dropped when so configured", 4, uz,
     det="DROP_FRAGMENT_UNCHECKSUMMED", reassemble=False)
pe4 = IP(src=SERVER4, dst=POOL4, id=0x4444) / ICMP(type=0, id=0x2222, seq=4) / Raw(b"R" * 1600)
pe6w = bytes(IPv6(src=S6, dst=CLIENT, hlim=63) / ICMPv6EchoReply(id=0x1111, seq=4, data=b"R" * 1600))[40:]
rvec("4to6 fragmented ICMPv4 echo reply -> ICMPv6 echo reply in fragments", 4,
     fragment(pe4, 1000), out=cut6(pe6w, 0x4444, 58), ot=ot46(0x1111, 0x1111))


# --- errors the state layer asks for (nat64_icmp_error) ----------------------
# RFC 6146 3.5.1 and 3.5.3: an IPv4 packet to a pool transport address with
# no mapping is dropped and may be answered with Destination Unreachable,
# Host Unreachable (code 1); one that filtering refuses, with code 13.
own_errors = []


def own(name, pkt, t, c, param, expect):
    own_errors.append(dict(name=name, inp=bytes(pkt), t=t, c=c, param=param, out=bytes(expect)))


nb = IP(src=SERVER4, dst=POOL4, ttl=60) / UDP(sport=53, dport=62000) / Raw(b"anyone there?")
own("RFC 6146 3.5.1: UDP to a pool port without a mapping -> Host Unreachable", nb, 3, 1, 0,
    IP(src=OWN4, dst=SERVER4, ttl=64, id=ID_START) / ICMP(type=3, code=1) / Raw(bytes(nb)))
own("RFC 6146 3.5.1: UDP refused by address-dependent filtering -> code 13", nb, 3, 13, 0,
    IP(src=OWN4, dst=SERVER4, ttl=64, id=ID_START) / ICMP(type=3, code=13) / Raw(bytes(nb)))
ne = IP(src=SERVER4, dst=POOL4) / ICMP(type=8, id=0x5151, seq=1) / Raw(b"ping")
own("RFC 6146 3.5.3: ICMP query to an identifier without a mapping -> Host Unreachable", ne,
    3, 1, 0, IP(src=OWN4, dst=SERVER4, ttl=64, id=ID_START) / ICMP(type=3, code=1) / Raw(bytes(ne)))
big4 = IP(src=SERVER4, dst=POOL4) / UDP(sport=53, dport=62001) / Raw(b"L" * 1400)
own("an error quotes at most 576 octets in all (RFC 1812 4.3.2.3)", big4, 3, 1, 0,
    IP(src=OWN4, dst=SERVER4, ttl=64, id=ID_START) / ICMP(type=3, code=1) /
    Raw(bytes(big4)[:576 - 28]))


def c_bytes(b):
    out = []
    for i in range(0, len(b), 16):
        out.append("\t" + "".join("0x%02x," % x for x in b[i:i + 16]))
    return "\n".join(out) if out else "\t0"


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


if len(sys.argv) > 2 and sys.argv[1] == "--corpus":
    # Seeds for tests/fuzz/fuzz_xlate.c: flags octet, then length-prefixed
    # packets (see the target's comment).
    import os
    d = sys.argv[2]
    os.makedirs(d, exist_ok=True)
    def rec(b):
        return len(b).to_bytes(2, "big") + b
    for i, v in enumerate(vectors):
        flags = 1 if v["dir"] == 4 else 0
        with open(os.path.join(d, "v%03d" % i), "wb") as f:
            f.write(bytes([flags | 8 | 16 | (32 if i % 2 else 0)]) + rec(v["inp"]))
    for i, r in enumerate(reasm):
        flags = (1 if r["dir"] == 4 else 0) | 2 | (4 if r["reassemble"] else 0)
        with open(os.path.join(d, "r%03d" % i), "wb") as f:
            f.write(bytes([flags]) + b"".join(rec(x) for x in r["frags"]))
    sys.exit(0)

w = sys.stdout.write
w("/* Generated by tests/unit/gen_xlate_vectors.py (scapy); do not edit. */\n")
w("#ifndef XLATE_VECTORS_H\n#define XLATE_VECTORS_H\n\n")
w("static const struct { const char *addr; unsigned len; } xv_prefixes[] = {\n")
for p, l in PREFIXES:
    w("\t{ %s, %d },\n" % (c_str(p), l))
w("};\n\n")
w('#define XV_OWN4 "%s"\n#define XV_OWN6 "%s"\n#define XV_ID_START 0x%x\n\n' % (OWN4, OWN6, ID_START))


def c_array(name, data):
    """static const uint8_t NAME[] with the octets of data."""
    w("static const uint8_t %s[] = {\n%s\n};\n" % (name, c_bytes(data)))


def c_lens(name, packets):
    """static const uint32_t NAME[]: the length of each packet ({ 0 } for none)."""
    w("static const uint32_t %s[] = { %s };\n" % (name, ", ".join(str(len(p)) for p in packets) or "0"))


def c_table(struct, array, *fields):
    """struct STRUCT with the fields (one declaration each), then the start of
    the array of them, static const struct STRUCT ARRAY[]."""
    w("\nstruct %s {\n%s};\n\n" % (struct, "".join("\t%s;\n" % f for f in fields)))
    w("static const struct %s %s[] = {\n" % (struct, array))


for i, v in enumerate(vectors):
    c_array("xv%d_in" % i, v["inp"])
    c_array("xv%d_out" % i, b"".join(v["out"]))
    c_lens("xv%d_lens" % i, v["out"])
    c_array("xv%d_err" % i, b"".join(v["err_out"]))
c_table("xlate_vector", "xlate_vectors",
        "const char *name", "int dir", "const uint8_t *in", "size_t in_len",
        "enum nat64_verdict det, xl", "const uint8_t *out", "const uint32_t *out_lens",
        "unsigned out_count", "const char *ot_src, *ot_dst", "uint16_t ot_sport, ot_dport",
        "bool check_tuple", "uint16_t t_sport, t_dport", "const char *t_dst4",
        "uint16_t ipv4_mtu, ipv6_mtu", "bool err", "uint8_t err_type, err_code",
        "uint32_t err_param", "const uint8_t *err_out", "size_t err_len")
for i, v in enumerate(vectors):
    ot = v["ot"] or ("", 0, "", 0)
    t = v["tuple"]
    e = v["err"] or (0, 0, 0)
    w("\t{ %s, %d, xv%d_in, %d, NAT64_%s, NAT64_%s, xv%d_out, xv%d_lens, %d,\n"
      "\t  %s, %s, %d, %d, %s, %d, %d, %s, %d, %d, %s, %d, %d, %d, xv%d_err, %d },\n" %
      (c_str(v["name"]), v["dir"], i, len(v["inp"]), v["det"], v["xl"], i, i, len(v["out"]),
       c_str(ot[0]), c_str(ot[2]), ot[1], ot[3],
       "true" if t else "false", t[0] if t else 0, t[1] if t else 0,
       c_str(t[2]) if t and t[2] else "NULL",
       v["cfg"].get("ipv4_mtu", 0), v["cfg"].get("ipv6_mtu", 0),
       "true" if v["err"] else "false", e[0], e[1], e[2], i, len(b"".join(v["err_out"]))))
w("};\n\n")
for i, r in enumerate(reasm):
    for j, f in enumerate(r["frags"]):
        c_array("xr%d_f%d" % (i, j), f)
    w("static const uint8_t *const xr%d_frags[] = { %s };\n" %
      (i, ", ".join("xr%d_f%d" % (i, j) for j in range(len(r["frags"])))))
    w("static const size_t xr%d_flens[] = { %s };\n" % (i, ", ".join(str(len(f)) for f in r["frags"])))
    c_array("xr%d_out" % i, b"".join(r["out"]))
    c_lens("xr%d_lens" % i, r["out"])
c_table("reasm_vector", "reasm_vectors",
        "const char *name", "int dir", "const uint8_t *const *frags", "const size_t *flens",
        "unsigned nfrags", "enum nat64_verdict det", "const uint8_t *out",
        "const uint32_t *out_lens", "unsigned out_count", "const char *ot_src, *ot_dst",
        "uint16_t ot_sport, ot_dport", "bool reassemble")
for i, r in enumerate(reasm):
    ot = r["ot"] or ("", 0, "", 0)
    w("\t{ %s, %d, xr%d_frags, xr%d_flens, %d, NAT64_%s, xr%d_out, xr%d_lens, %d, %s, %s, %d, %d, %s },\n" %
      (c_str(r["name"]), r["dir"], i, i, len(r["frags"]), r["det"], i, i, len(r["out"]),
       c_str(ot[0]), c_str(ot[2]), ot[1], ot[3], "true" if r["reassemble"] else "false"))
w("};\n\n")
for i, e in enumerate(own_errors):
    c_array("xo%d_in" % i, e["inp"])
    c_array("xo%d_out" % i, e["out"])
c_table("own_error_vector", "own_error_vectors",
        "const char *name", "const uint8_t *in", "size_t in_len", "uint8_t type, code",
        "uint32_t param", "const uint8_t *out", "size_t out_len")
for i, e in enumerate(own_errors):
    w("\t{ %s, xo%d_in, %d, %d, %d, %d, xo%d_out, %d },\n" %
      (c_str(e["name"]), i, len(e["inp"]), e["t"], e["c"], e["param"], i, len(e["out"])))
w("};\n\n#endif\n")
