"""faultclient.py KIND PORT: one client of 127.0.0.1:PORT, printing what it
saw in words that do not depend on the port or on timing.
  raw      a socket: the bytes it read, and how the reading ended (EOF, or
           the errno) - a RST and a FIN differ here
  http     http.client: the status and body length, or the exception
  urllib   urllib.request: the same
  asyncio  asyncio streams: the bytes read, and how reading ended
  sum      a socket: the bytes it read, whether they are the first ones of
           faultserver.py's STREAM, and how the reading ended
  upload N a socket: N bytes of STREAM sent, its writing shut, then what
           it reads (EOF, or the errno)
  peer     getpeername() after the connect
  flood    writes without reading, with a 1 s timeout: whether it blocked
  wait     reads with a 1 s timeout: whether it timed out
  many N   N connections at once, held, then closed: the descriptors the
           relay (this process's parent, connrefuse run) holds meanwhile
           and after
  budget P2  three times: a stream held (1 MiB of it read), the relay's
           descriptors for it, a connection to P2 meanwhile (relayed or
           not), the descriptors once the stream closed; then a connection
           to P2
  idle N   N streams read whole, one after another, and held open: whether
           the relay's memory grew by 256 KiB a stream or more meanwhile
           (its peak), and whether it kept less than that once they waited
           (up to 10 s; what a connection's thread holds stays: 20 KiB
           here, 160 KiB under the sanitizers)
  orphan P2 [PID]  a connection answered and held, then the relay killed
           (PID, or its parent, with SIGKILL): what the connection then
           reads; then a new connection to P2 (as raw; two with PID), and done
  flow N PID  N connections at once through the relay PID (a service),
           each asking and reading its whole answer while all are open:
           the bytes, and the descriptors PID holds meanwhile and after"""
import errno
import os
import random
import signal
import time
import http.client
import socket
import sys
import urllib.request

kind, port = sys.argv[1], int(sys.argv[2])
if kind in ("sum", "upload"):
    # 64 MiB: a random MiB, each copy numbered (a chunk lost, doubled or
    # moved anywhere shows); faultserver.py's
    BASE = random.Random(27).randbytes(1 << 20)
    STREAM = b"".join(i.to_bytes(4, "big") + BASE[4:] for i in range(64))
REQ = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def ended(got, err=None):
    """How reading ended: at EOF, or with err."""
    print("read %d bytes, then %s" % (got, "EOF" if err is None else errno.errorcode.get(err, err)))


def raw():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(REQ)
    got = 0
    try:
        while b := s.recv(65536):
            got += len(b)
    except OSError as e:
        return ended(got, e.errno)
    ended(got)




def stream_sum():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(REQ)
    got, err = bytearray(), None
    try:
        while b := s.recv(1 << 20):
            got += b
    except OSError as e:
        err = e.errno
    print("the first %d bytes of the stream: %s" % (len(got), "yes" if STREAM.startswith(got) else "NO"))
    ended(len(got), err)


def upload():
    n = int(sys.argv[3])
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(STREAM[:n])
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
        print("sent %d bytes, then EOF" % n)
    except OSError as e:
        print("sending %d bytes: %s" % (n, errno.errorcode.get(e.errno, e.errno)))


def http_client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/")
        r = c.getresponse()
        body = r.read()
        print("status %d, %d body bytes" % (r.status, len(body)))
    except Exception as e:
        print("%s: %s" % (type(e).__name__, e))


def urllib_client():
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10).read()
        print("%d body bytes" % len(body))
    except Exception as e:
        print("%s: %s" % (type(e).__name__, str(e).replace(str(port), "PORT")))


def asyncio_client():
    import asyncio

    async def run():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(REQ)
        await w.drain()
        got = 0
        try:
            while b := await r.read(65536):
                got += len(b)
        except OSError as e:
            return ended(got, e.errno)
        ended(got)

    asyncio.run(run())


def peer():
    s = socket.create_connection(("127.0.0.1", port))
    host, p = s.getpeername()
    print("peer %s:%s" % (host, "PORT" if p == port else p))


def flood():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(1)
    s.sendall(REQ)
    try:
        for _ in range(4096):  # 256 MB: more than any buffers between
            s.sendall(b"z" * 65536)
        print("never blocked")
    except socket.timeout:
        print("writes blocked")
    except OSError as e:
        print("write failed: %s" % errno.errorcode.get(e.errno, e.errno))


def wait():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(1)
    s.sendall(REQ)
    try:
        b = s.recv(65536)
        print("read %d bytes" % len(b))
    except socket.timeout:
        print("read timed out")


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def settle(pid, want):
    """The parent's descriptor count once it is want (up to 10 s), or what it is then."""
    for _ in range(400):
        n = fds(pid)
        if n == want:
            return n
        time.sleep(0.025)
    return fds(pid)


def many():
    n, relay = int(sys.argv[3]), os.getppid()
    base = fds(relay)
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    peers = sum(1 for s in held if s.getpeername()[1] == port)
    # Relayed: the ones whose local end is the relay's listener, not port.
    relayed = sum(1 for s in held if socket_peer_is_relay(s))
    during = settle(relay, base + 2 * relayed)
    print("%d connections, getpeername the destination for %d; %d relayed, %d untouched" % (n, peers, relayed, n - relayed))
    close_all(held, relay, base, during, relayed)


def close_all(held, relay, base, during, relayed):
    """Says the relay's descriptors a connection, closes held, and says
    the relay's descriptors after."""
    print("the relay holds %s descriptors a relayed connection" % ((during - base) / relayed if relayed else "no"))
    for s in held:
        s.close()
    after = settle(relay, base)
    print("after they closed: %d descriptors more than before" % (after - base))


def budget():
    good, relay = int(sys.argv[3]), os.getppid()
    base = fds(relay)
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(REQ)
        got = 0
        while got < 1 << 20:
            got += len(s.recv(1 << 20))
        held = settle(relay, base + 2) - base
        a = socket.create_connection(("127.0.0.1", good))
        meanwhile = "relayed" if socket_peer_is_relay(a, good) else "untouched"
        a.close()
        s.close()
        print("a stream: the relay holds %d descriptors for it; a connection meanwhile: %s; once it closed: %d more"
              % (held, meanwhile, settle(relay, base) - base))
    b = socket.create_connection(("127.0.0.1", good))
    print("a connection then: %s" % ("relayed" if socket_peer_is_relay(b, good) else "untouched"))


def rss_kib(pid, key="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


def idle():
    n, relay = int(sys.argv[3]), os.getppid()
    base = rss_kib(relay)
    held = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(REQ)
        while s.recv(1 << 16):
            pass
        held.append(s)
    grew = rss_kib(relay, "VmHWM") - base
    for _ in range(400):
        if rss_kib(relay) - base < 256 * n:
            break
        time.sleep(0.025)
    kept = rss_kib(relay) - base
    print("%d streams read and held: the relay grew by 256 KiB a stream or more: %s; once they waited: %s"
          % (n, "yes" if grew >= 256 * n else "no (%d KiB)" % grew,
             "given back" if kept < 256 * n else "%d KiB kept" % kept))


def socket_peer_is_relay(s, dest=None):
    """Whether the kernel connected s elsewhere than dest (default port: to
    the relay), whatever getpeername says: /proc/net/tcp, by the socket's
    inode."""
    ino = os.fstat(s.fileno()).st_ino
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[9]) == ino:
                return int(fields[2].split(":")[1], 16) != (dest or port)
    return False


def flow():
    n, relay = int(sys.argv[3]), int(sys.argv[4])
    base = fds(relay)
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    relayed = sum(1 for s in held if socket_peer_is_relay(s))
    during = settle(relay, base + 2 * relayed)
    for s in held:
        s.sendall(REQ)
    got = 0
    for s in held:
        s.settimeout(10)
        want = got + 5060
        while got < want and (b := s.recv(65536)):
            got += len(b)
    print("%d connections at once, %d relayed; %d bytes read of %d" % (n, relayed, got, 5060 * n))
    close_all(held, relay, base, during, relayed)


def gone_fds(pid):
    """The descriptors pid's threads still hold (none once it exited; its
    first thread can be gone while another still closes them)."""
    n = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                n += len(os.listdir("/proc/%d/task/%s/fd" % (pid, t)))
            except OSError:
                pass
    except OSError:
        pass
    return n


def orphan():
    global port
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    s.sendall(REQ)
    got = 0
    while got < 5060:  # the whole answer: the relay has taken the connection
        got += len(s.recv(65536))
    service = len(sys.argv) > 4
    relay = int(sys.argv[4]) if service else os.getppid()
    os.kill(relay, signal.SIGKILL)
    while not service and os.getppid() == relay:  # reparented once it has exited, its sockets closed
        time.sleep(0.01)
    while service and gone_fds(relay):  # a service: until its descriptors are all closed
        time.sleep(0.01)
    try:
        b = s.recv(65536)
        print("the held connection, relay killed: read %d bytes%s" % (len(b), ", EOF" if not b else ""))
    except OSError as e:
        print("the held connection, relay killed: %s" % errno.errorcode.get(e.errno, e.errno))
    sys.stdout.flush()
    port = int(sys.argv[3])
    raw()
    if service:
        raw()
    print("done")


try:
    {"raw": raw, "sum": stream_sum, "upload": upload, "http": http_client, "asyncio": asyncio_client, "urllib": urllib_client, "peer": peer, "flood": flood, "wait": wait, "many": many, "budget": budget,
     "idle": idle, "orphan": orphan, "flow": flow}[kind]()
except ConnectionRefusedError as e:
    print("connect: %s" % errno.errorcode.get(e.errno, e.errno))
