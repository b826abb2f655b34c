#!/usr/bin/python3
"""End-to-end test of sixfour-handoffd alone, in two network namespaces.

`srv` is the IPv4 host running the daemon (192.88.99.80 and .81); `nat`
plays the NAT64 (192.88.99.1, UDP port 64646) with raw UDP sockets built
by this script: the handshake, the section 8 log lines, ENTRY-ACK hints
(a port with a live local socket is never hinted), LOOKUP found / not found
with the echoed packet, spoofed and malformed datagrams, the reply address
of a multi-homed host, restart durability, BLOCK, the dropped privileges
(the daemon's own user `_sixfour-handoffd`, made to exist in a private mount
namespace), the profile's IPv6-side lookup and hint batches
(doc/handoff-profile.md), kill -9 in the middle of a burst, and start-up on a
damaged journal. Prints TAP; needs root.
"""
import hmac
import ipaddress
import json
import os
import pwd
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from handoff_rig import enter_netns, msg, netns_pair, parse, remove

PLAN = 53
if os.geteuid() != 0:
    print("1..0 # SKIP needs root")
    sys.exit(0)

BUILD = os.environ.get("top_builddir", os.getcwd())
DAEMON = os.path.join(BUILD, "sixfour-handoffd")
if not os.access(DAEMON, os.X_OK):
    print("1..0 # SKIP sixfour-handoffd not built in %s" % BUILD)
    sys.exit(0)

RUN = "hs%d" % os.getpid()
NS_SRV, NS_NAT = RUN + "-srv", RUN + "-nat"
NAT4, SRV4, SRV4B = "192.88.99.1", "192.88.99.80", "192.88.99.81"
PORT = 64646
USER, UID = "_sixfour-handoffd", 64646
LOG_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} (Initialized \S+|(Created|Deleted) "
                    r"\d+\.\d+\.\d+\.\d+:\d+ \[[0-9a-f:.]+\]:\d+)$")

tmp = tempfile.mkdtemp(prefix="handoffd-e2e-")
os.chmod(tmp, 0o755)
STATE = os.path.join(tmp, "state")
LOG = os.path.join(tmp, "handoff.log")
ERR = os.path.join(tmp, "daemon.err")
procs = []
count = 0
failed = 0


def tap(ok, desc, diag=None):
    global count, failed
    count += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", count, desc))
    if not ok:
        failed += 1
        if diag:
            for line in str(diag).splitlines():
                print("#   " + line)
    sys.stdout.flush()
    return ok


def sh(*args, check=True):
    return subprocess.run(args, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def cleanup():
    remove(procs, (NS_SRV, NS_NAT), tmp)


def on_signal(signo, frame):
    cleanup()
    sys.exit(1)


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)


def wait_for(fn, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return None


def ctl(*args):
    return sh("ip", "netns", "exec", NS_SRV, DAEMON, "-d", STATE, *args, check=False)


def fake_users():
    """/etc/passwd and /etc/group with the daemon's own user, for a private
    mount namespace (this machine's files are not touched)."""
    for name, line in (("passwd", "%s:x:%d:%d::/nonexistent:/usr/sbin/nologin\n" % (USER, UID, UID)),
                       ("group", "%s:x:%d:\n" % (USER, UID))):
        with open("/etc/" + name) as f:
            text = f.read()
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text + ("" if text.endswith("\n") else "\n") + line)


def daemon_cmd(*extra):
    # -r 0: read the socket tables for every batch, so the hint check below
    # sees a socket the moment it exists (the default caches them for 1 s).
    # No -u: the default is the daemon's own user.
    return ["ip", "netns", "exec", NS_SRV, "unshare", "-m", "--propagation", "private", "sh",
            "-c", "mount --bind %s/passwd /etc/passwd && mount --bind %s/group /etc/group && "
            "exec \"$@\"" % (tmp, tmp), "sh", DAEMON, "-d", STATE, "-l", LOG, "-r", "0"] + list(extra)


def start_daemon():
    err = open(ERR, "a")
    p = subprocess.Popen(daemon_cmd(), stdout=subprocess.DEVNULL, stderr=err)
    procs.append(p)
    ready = wait_for(lambda: ctl("status").returncode == 0 or p.poll() is not None)
    if not ready or p.poll() is not None:
        with open(ERR) as f:
            print("# daemon failed: " + f.read().replace("\n", "\n# "))
        return None
    return p


def stop_daemon(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


# ---- the wire, written from the profile (spec/handoff.md section 5) ----

def text(s):
    b = s.encode()
    return msg(0x31, b + (b"\xff" if len(b) % 2 else b""))


def hello(nonce, pad=True):
    return msg(0x32, bytes([1, 0x09, 0, 0]) + nonce + (bytes(8) if pad else b""))


def session(nonce, cookie):
    return msg(0x34, nonce + cookie)


def er(proto, nat_port, client, cport, sport=80, flags=0):
    return struct.pack("!BBHHH", proto, flags, nat_port, sport, cport) + \
        ipaddress.IPv6Address(client).packed


def entry(proto, nat_port, client, cport):
    return msg(0x35, er(proto, nat_port, client, cport))


def lookup(proto, nat_port, lid):
    return msg(0x38, struct.pack("!BBHI", proto, 0, nat_port, lid))


def hello_range(nonce, lo, hi):
    """HELLO with the NAT64's port range in its padding (profile P-2)."""
    return msg(0x32, bytes([1, 0x09, 0, 0]) + nonce + struct.pack("!HH", lo, hi) + bytes(4))


def lookup_client(proto, client, cport, sport, lid):
    """LOOKUP-CLIENT 0x3C (profile P-1), layout from doc/handoff-profile.md."""
    return msg(0x3c, struct.pack("!BBHHHI", proto, 0, sport, cport, 0, lid) +
               ipaddress.IPv6Address(client).packed)


def hint_request(proto, count):
    return msg(0x3d, bytes([proto, count]))


def ipv4_packet(payload=b"hello handoff"):
    tl = 20 + 8 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tl, 1, 0, 64, 17, 0,
                      socket.inet_aton(SRV4), socket.inet_aton(NAT4))
    return hdr + struct.pack("!HHHH", 80, 40000, 8 + len(payload), 0) + payload


def main():
    netns_pair(RUN, NS_NAT, [NAT4], NS_SRV, [SRV4, SRV4B])
    daemon = start_daemon()
    if not tap(daemon is not None, "daemon starts and answers its control socket"):
        return
    # `ip netns exec` execs the daemon in place, so the pid is the daemon's.
    uid = None
    with open("/proc/%d/status" % daemon.pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                uid = [int(x) for x in line.split()[1:]]
    tap(uid is not None and all(u == UID for u in uid),
        "daemon runs as its own user %s (real, effective, saved, fs uid)" % USER, "uid %s" % uid)
    modes = {}
    for name in ("", "journal", "secret"):
        st = os.stat(os.path.join(STATE, name))
        modes[name or "."] = (st.st_uid, st.st_mode & 0o777)
    tap(modes == {".": (UID, 0o700), "journal": (UID, 0o600), "secret": (UID, 0o600)},
        "state directory 0700, journal and secret 0600, all owned by %s" % USER, modes)

    enter_netns(NS_NAT)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((NAT4, PORT))

    def exchange(data, dst=SRV4, timeout=2.0):
        s.sendto(data, (dst, PORT))
        r, _, _ = select.select([s], [], [], timeout)
        if not r:
            return None, None
        return s.recvfrom(65535)

    def quiet(timeout=0.5):
        """True when nothing arrives: the negative checks need a bound."""
        r, _, _ = select.select([s], [], [], timeout)
        if r:
            s.recvfrom(65535)
        return not r

    def log_lines():
        try:
            with open(LOG) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    nonce = os.urandom(8)
    client = "2001:db8:1::100"

    # Probing datagram with the explanation text (the section 15 shape).
    probe = text("NAT64 handoff test") + hello(nonce, pad=False) + entry(6, 3719, client, 53186)
    reply, src = exchange(probe)
    tap(reply is not None and src == (SRV4, PORT), "HELLO answered from %s:%d" % (SRV4, PORT),
        "got %r from %r" % (reply, src))
    if reply is None:
        return
    msgs = list(parse(reply))
    tap(len(msgs) == 1 and msgs[0][0] == 0x33 and msgs[0][1][4:12] == nonce,
        "HELLO-ACK echoes the nonce")
    tap(len(reply) <= len(probe), "HELLO-ACK (%d) not larger than the HELLO datagram (%d)"
        % (len(reply), len(probe)))
    cookie = msgs[0][1][12:20]
    tap(log_lines() == [], "nothing logged before a session")

    reply, _ = exchange(hello(nonce, pad=False))
    tap(reply is None, "a bare 14-octet HELLO gets no (larger) answer")
    reply, src = exchange(text("x" * 9) + hello(nonce), dst=SRV4B)
    tap(src == (SRV4B, PORT), "reply leaves from the address asked on (%s)" % SRV4B, src)
    cookie_b = list(parse(reply))[0][1][12:20] if reply else b""
    tap(cookie_b != cookie and len(cookie_b) == 8, "cookie is bound to the server address")

    # Spoofed entries: no SESSION, wrong cookie, cookie of the other address.
    s.sendto(entry(6, 4000, "2001:db8:bad::1", 1), (SRV4, PORT))
    s.sendto(session(nonce, bytes(8)) + entry(6, 4001, "2001:db8:bad::2", 2), (SRV4, PORT))
    s.sendto(session(nonce, cookie_b) + entry(6, 4002, "2001:db8:bad::3", 3), (SRV4, PORT))
    tap(quiet(), "spoofed entries are not answered")
    tap(log_lines() == [], "spoofed entries leave no log line")

    # The session.
    reply, _ = exchange(session(nonce, cookie) + entry(6, 3719, client, 53186))
    msgs = list(parse(reply or b""))
    tap(len(msgs) == 2 and msgs[0] == (0x34, nonce + cookie) and msgs[1][0] == 0x37,
        "SESSION + ENTRY-ACK", msgs)
    hint_tcp = struct.unpack("!H", msgs[1][1][4:6])[0] if len(msgs) == 2 else 0
    tap(msgs and struct.unpack("!BBH", msgs[1][1][:4]) == (6, 0, 3719) and hint_tcp not in (0, 3719),
        "ack names TCP 3719 and hints free port %d" % hint_tcp)
    lines = log_lines()
    tap(len(lines) == 2 and all(LOG_RE.match(l) for l in lines), "log lines match section 8",
        "\n".join(lines))
    tap(len(lines) == 2 and lines[0].endswith(" Initialized " + NAT4) and
        lines[1].endswith(" Created %s:3719 [%s]:53186" % (NAT4, client)),
        "Initialized then Created with the client's IPv6 address and port")

    reply, _ = exchange(session(nonce, cookie) + entry(6, 3719, client, 53186))
    tap(reply is not None and list(parse(reply))[1][0] == 0x37, "duplicate entry acked again")
    tap(len(log_lines()) == 2, "duplicate entry logs nothing")

    reply, _ = exchange(session(nonce, cookie) + entry(6, 3719, "2001:db8:1::200", 34643))
    lines = log_lines()[2:]
    tap(len(lines) == 2 and lines[0].endswith(" Deleted %s:3719 [%s]:53186" % (NAT4, client)) and
        lines[1].endswith(" Created %s:3719 [2001:db8:1::200]:34643" % NAT4),
        "port reuse: Deleted old then Created new", "\n".join(lines))

    # Hints never name a port with a live local socket.
    reply, _ = exchange(session(nonce, cookie) + entry(17, 5000, client, 5000))
    h1 = struct.unpack("!H", list(parse(reply))[1][1][4:6])[0] if reply else 0
    busy = h1 + 1
    holder = subprocess.Popen(["ip", "netns", "exec", NS_SRV, "/usr/bin/python3", "-c",
                               "import socket,sys,time\n"
                               "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                               "s.connect(('%s',%d))\nprint('up',flush=True)\ntime.sleep(60)\n"
                               % (NAT4, busy)], stdout=subprocess.PIPE, text=True)
    procs.append(holder)
    holder.stdout.readline()
    reply, _ = exchange(session(nonce, cookie) + entry(17, 5001, client, 5001))
    h2 = struct.unpack("!H", list(parse(reply))[1][1][4:6])[0] if reply else 0
    tap(h1 != 0 and h2 not in (0, h1, busy),
        "hint skips port %d, which has a live socket to the NAT64 (got %d)" % (busy, h2))
    holder.kill()
    holder.wait()

    # LOOKUP found, with the packet echoed unchanged; LOOKUP not found.
    pkt = ipv4_packet()
    reply, _ = exchange(session(nonce, cookie) + lookup(6, 3719, 0x1234abcd) + pkt)
    msgs = list(parse(reply or b""))
    ok = len(msgs) == 3 and msgs[1][0] == 0x39 and msgs[1][1][0] == 0 and \
        struct.unpack("!I", msgs[1][1][2:6])[0] == 0x1234abcd
    tap(ok, "LOOKUP found: exactly one LOOKUP-REPLY with the id", msgs)
    if ok:
        rec = msgs[1][1][6:30]
        tap(rec == er(6, 3719, "2001:db8:1::200", 34643), "reply carries the current entry record")
        tap(msgs[2] == (0x40, pkt), "the 0x4 packet is echoed unchanged")
    tap(quiet(0.3), "exactly one reply datagram")
    reply, _ = exchange(session(nonce, cookie) + lookup(6, 9999, 7) + pkt)
    msgs = list(parse(reply or b""))
    tap(len(msgs) == 3 and msgs[1][0] == 0x39 and msgs[1][1][0] == 1 and msgs[2] == (0x40, pkt),
        "LOOKUP not found: status 1, packet echoed")

    # Malformed datagrams: no answer at all.
    bad = [session(nonce, cookie) + lookup(6, 3719, 1)[:-1],
           session(nonce, cookie) + lookup(6, 3719, 2) + pkt[:-1],
           session(nonce, cookie) + b"\x35\x0c" + bytes(10),
           b"\x31",
           text("hi") + hello(nonce)[:5]]
    for d in bad:
        s.sendto(d, (SRV4, PORT))
    tap(quiet(), "malformed datagrams get no answer")
    reply, _ = exchange(b"\x00\x01" + hello(nonce))
    tap(reply is None, "a datagram starting with 0x00 is ignored")

    # Keep-alive inside the session.
    reply, _ = exchange(session(nonce, cookie) + hello(nonce))
    msgs = list(parse(reply or b""))
    tap(len(msgs) == 2 and msgs[1][0] == 0x33 and msgs[1][1][12:20] == cookie,
        "keep-alive HELLO in session answered with the same cookie")

    # BLOCK, from the operator's command line.
    r = ctl("block", NAT4, "60")
    reply, src = (None, None)
    rr, _, _ = select.select([s], [], [], 2.0)
    if rr:
        reply, src = s.recvfrom(65535)
    msgs = list(parse(reply or b""))
    tap(r.returncode == 0 and len(msgs) == 2 and msgs[0] == (0x34, nonce + cookie) and
        msgs[1][0] == 0x3b and struct.unpack("!I", msgs[1][1][2:6])[0] == 60,
        "sixfour-handoffd block sends SESSION + BLOCK(60)", r.stdout + r.stderr)
    r = ctl("block", "192.0.2.200")
    tap(r.returncode != 0 and "no session" in r.stdout, "block without a session is refused")

    # The profile's additions: the port range, hint batches, LOOKUP-CLIENT.
    reply, _ = exchange(session(nonce, cookie) + hello_range(nonce, 40000, 40009))
    tap(reply is not None and list(parse(reply))[1][0] == 0x33, "keep-alive with a port range answered")
    reply, _ = exchange(session(nonce, cookie) + hint_request(6, 16))
    hints = [m for m in parse(reply or b"") if m[0] == 0x3e]
    ports = [struct.unpack("!H", hints[0][1][2 + 2 * i:4 + 2 * i])[0]
             for i in range((len(hints[0][1]) - 2) // 2)] if hints else []
    tap(len(ports) == 10 and sorted(ports) == list(range(40000, 40010)),
        "HINT-REQUEST: HINTS with the 10 ports of the range, all distinct", ports)
    reply, _ = exchange(session(nonce, cookie) + lookup_client(6, "2001:db8:1::200", 34643, 80, 99) +
                        lookup_client(6, "2001:db8:1::200", 34644, 80, 100))
    msgs = [m for m in parse(reply or b"") if m[0] == 0x39]
    tap(len(msgs) == 2 and msgs[0][1][0] == 0 and struct.unpack("!I", msgs[0][1][2:6])[0] == 99 and
        msgs[0][1][6:30] == er(6, 3719, "2001:db8:1::200", 34643),
        "LOOKUP-CLIENT by the client's address and port finds NAT64 port 3719", msgs)
    tap(len(msgs) == 2 and msgs[1][1][0] == 1 and struct.unpack("!I", msgs[1][1][2:6])[0] == 100,
        "... and answers not found for a port that client does not hold")
    r = ctl("status", "--json")
    try:
        j = json.loads(r.stdout)
    except ValueError:
        j = {}
    tap(j.get("counters", {}).get("CLIENT_LOOKUPS_FOUND") == 1 and j.get("entries") == 3,
        "status --json over the typed control protocol", r.stdout + r.stderr)

    # Restart: the journal and the secret survive.
    before = log_lines()
    stop_daemon(daemon)
    daemon = start_daemon()
    tap(daemon is not None, "daemon restarts")
    if daemon is None:
        return
    reply, _ = exchange(session(nonce, cookie) + lookup(6, 3719, 42) + pkt)
    msgs = list(parse(reply or b""))
    tap(len(msgs) == 3 and msgs[1][1][0] == 0 and msgs[1][1][6:30] == er(6, 3719, "2001:db8:1::200", 34643),
        "after restart: same cookie accepted, LOOKUP still finds the entry")
    reply, _ = exchange(session(nonce, cookie) + entry(17, 5000, client, 5000))
    tap(reply is not None, "after restart: known entry acked")
    tap(log_lines() == before, "after restart: nothing logged again")
    st = ctl("status").stdout
    tap(re.search(r"^entries 3$", st, re.M) is not None, "status shows the 3 stored entries", st)
    tap(os.path.exists(os.path.join(STATE, "journal.prev")),
        "the journal a compaction replaced is kept as journal.prev")

    # kill -9 in the middle of a burst: every acked entry is found after.
    acked = set()
    sent_ports = list(range(20000, 22000))
    for i in range(0, len(sent_ports), 50):
        d = session(nonce, cookie) + b"".join(
            entry(6, p, "2001:db8:1::%x" % p, p) for p in sent_ports[i:i + 50])
        s.sendto(d, (SRV4, PORT))
        # Acks come after each round's fsync; read what is there, briefly.
        while select.select([s], [], [], 0.003)[0]:
            r_, _ = s.recvfrom(65535)
            acked.update(struct.unpack("!H", m[1][2:4])[0] for m in parse(r_) if m[0] == 0x37)
        if i == 1000:
            daemon.kill()	# SIGKILL with datagrams of the burst still in flight
    daemon.wait()
    while select.select([s], [], [], 0.2)[0]:
        r_, _ = s.recvfrom(65535)
        acked.update(struct.unpack("!H", m[1][2:4])[0] for m in parse(r_) if m[0] == 0x37)
    daemon = start_daemon()
    tap(daemon is not None and 500 <= len(acked) < len(sent_ports),
        "kill -9 in the middle of a burst, after %d of %d entries were acked; restarts"
        % (len(acked), len(sent_ports)))
    if daemon is None:
        return
    lost = []
    for k, p in enumerate(sorted(acked)):
        reply, _ = exchange(session(nonce, cookie) + lookup(6, p, 1000 + k))
        m = [x for x in parse(reply or b"") if x[0] == 0x39]
        if not m or m[0][1][0] != 0:
            lost.append(p)
    tap(not lost, "every acked entry survives kill -9 (%d checked, %d lost)" % (len(acked), len(lost)),
        lost[:10])

    # A damaged journal: the intact records are kept, the damage is reported
    # at error level with counts, the damaged file is kept aside.
    st = ctl("status").stdout
    n_before = int(re.search(r"^entries (\d+)$", st, re.M).group(1)) if "entries" in st else -1
    stop_daemon(daemon)
    jpath = os.path.join(STATE, "journal")
    with open(jpath, "r+b") as f:
        f.seek(8 + 10 * 56 + 20)
        b = f.read(1)
        f.seek(8 + 10 * 56 + 20)
        f.write(bytes([b[0] ^ 0xff]))
    size_before = os.path.getsize(jpath)
    open(ERR, "w").close()
    daemon = start_daemon()
    tap(daemon is not None, "daemon starts on a journal with one damaged record")
    if daemon is None:
        return
    with open(ERR) as f:
        err = f.read()
    tap(re.search(r"\[err\].*journal is damaged: \d+ records intact and kept, 1 damaged records skipped",
                  err) is not None, "the damage is reported at error level, with counts", err)
    tap(os.path.getsize(os.path.join(STATE, "journal.damaged")) == size_before,
        "the damaged journal is kept as journal.damaged")
    reply, _ = exchange(session(nonce, cookie) + lookup(6, 3719, 77) + pkt)
    m = [x for x in parse(reply or b"") if x[0] == 0x39]
    tap(m and m[0][1][0] == 0, "entries after the damaged record are still found")
    st = ctl("status").stdout
    n_after = int(re.search(r"^entries (\d+)$", st, re.M).group(1)) if "entries" in st else 0
    tap(n_after == n_before, "no entry was lost (%d of %d: the damaged one came back from "
        "journal.prev)" % (n_after, n_before), st[:200])
    stop_daemon(daemon)

    # Garbage after the magic, with journal.prev: a clean start made the
    # journal it replaced journal.prev (every entry), then the journal is
    # overwritten. The table comes back from journal.prev, the damage is
    # reported, the garbage is kept aside, and a second start still has
    # every entry (the compaction after the damaged start lost nothing).
    daemon = start_daemon()
    if daemon:
        stop_daemon(daemon)
    with open(jpath, "r+b") as f:
        f.seek(8)
        f.write(os.urandom(os.path.getsize(jpath) - 8))
    with open(jpath, "rb") as f:
        garbage = f.read()
    open(ERR, "w").close()
    daemon = start_daemon()
    with open(ERR) as f:
        err = f.read()
    st = ctl("status").stdout if daemon else ""
    n_garbage = int(re.search(r"^entries (\d+)$", st, re.M).group(1)) if "entries" in st else -1
    with open(os.path.join(STATE, "journal.damaged"), "rb") as f:
        kept = f.read() == garbage
    tap(daemon is not None and n_garbage == n_before and kept and
        re.search(r"\[err\].*journal is damaged", err) is not None,
        "garbage after the magic: every entry back from journal.prev (%d of %d), reported at "
        "error level, the file kept as journal.damaged" % (n_garbage, n_before), err)
    if daemon:
        stop_daemon(daemon)
    daemon = start_daemon()
    st = ctl("status").stdout if daemon else ""
    n_again = int(re.search(r"^entries (\d+)$", st, re.M).group(1)) if "entries" in st else -1
    tap(n_again == n_before, "... and the next start still has all %d (%d)" % (n_before, n_again))
    if daemon:
        stop_daemon(daemon)

    # Nothing intact and no journal.prev: no table can be rebuilt, the daemon
    # refuses to start and leaves the file as it was.
    os.unlink(os.path.join(STATE, "journal.prev"))
    with open(jpath, "r+b") as f:
        f.seek(8)
        f.write(os.urandom(56 * 20))
        f.truncate(8 + 56 * 20)
    with open(jpath, "rb") as f:
        garbage = f.read()
    r = subprocess.run(daemon_cmd(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       timeout=30)
    tap(r.returncode == 1 and "no table can be rebuilt" in r.stderr,
        "garbage after the magic and no journal.prev: exit 1, with the reason", r.stderr)
    with open(jpath, "rb") as f:
        tap(f.read() == garbage, "... the journal is left untouched")

    # The event log on a character device (/dev/null here, a terminal in
    # real life): writing its first line must not trip the sandbox.
    state2 = os.path.join(tmp, "state2")
    p2 = subprocess.Popen(daemon_cmd("-d", state2, "-l", "/dev/null"), stdout=subprocess.DEVNULL,
                          stderr=open(ERR, "a"))
    procs.append(p2)
    n2 = os.urandom(8)
    ack = wait_for(lambda: exchange(hello(n2), timeout=0.2)[0])
    ck2 = list(parse(ack))[0][1][12:20] if ack else bytes(8)
    r1, _ = exchange(session(n2, ck2) + entry(6, 3000, client, 1))
    r2, _ = exchange(session(n2, ck2) + entry(6, 3001, client, 2))
    tap(r1 is not None and r2 is not None and p2.poll() is None,
        "logging to a character device: lines written, the daemon goes on answering")


print("1..%d" % PLAN)
sys.stdout.flush()
try:
    fake_users()
    main()
except Exception as e:  # a crash of the test itself is a failure, not a skip
    tap(False, "test ran to the end", repr(e))
finally:
    cleanup()
while count < PLAN:
    tap(False, "not run: the test stopped early")
sys.exit(1 if failed or count != PLAN else 0)
