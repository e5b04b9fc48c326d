"""faultserver.py PORTFILE [--proto PROTO] MODE [N]: the oracles of faults
after connect, real misbehaving servers on 127.0.0.1. Each connection
holds a conversation in PROTO:
  http    (the default) the request read up to its blank line, answered
          with an HTTP response of 5,000 body bytes
  redis   RESP commands read, each answered as a Redis server would:
          PING (+PONG), GET (a bulk string of 5,000 bytes), ECHO
  pg      PostgreSQL's protocol (3.0): SSL and GSS encryption declined,
          the startup answered (no password asked), then each simple
          query answered with 100 rows of one text column
and by MODE:
  normal  the whole conversation, then closed (http: after one answer)
  reset   N bytes of it, then a close with SO_LINGER 0 (a RST)
  close   N bytes of it, then a plain close (a FIN)
  mute    the first request read, then nothing: it neither answers nor
          reads any more
  hold    the whole answer, and the connection stays open (a keep-alive)
  late-reset, late-close
          the whole answer, then N ms later a RST (SO_LINGER 0) or a FIN
  stream, stream-close
          (http) N bytes of STREAM (faultclient.py's too: 64 MiB, seeded)
          as the answer, then a FIN; stream-close is the oracle of a close
          after N bytes of it
  sink    no request: reads until EOF, then appends to PORTFILE.got how
          many bytes it read and whether they are STREAM's first ones
  echo    no conversation: every byte read is written back, until EOF
  bulk    (http) an HTTP response of N body bytes (the shaping's transfers)
Writes its port to PORTFILE once it listens."""
import os
import random
import socket
import struct
import sys
import threading
import time

BODY = bytes((i * 7) % 251 for i in range(5000))
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY) + BODY
VALUE = bytes(ord("a") + i % 26 for i in range(5000))


class Cut(Exception):
    """N bytes have gone: the fault now."""


class Gone(Exception):
    """The client closed, or the connection failed."""


class Held(Exception):
    """Mute: the connection is kept, unanswered and unread."""


class Conn:
    """The server's end of one connection: buffered reads, and sends that
    stop once N bytes have gone (reset, close) or never start (mute)."""

    def __init__(self, c, mode, n):
        self.c, self.mode, self.n, self.sent, self.buf = c, mode, n, 0, b""

    def fill(self):
        chunk = self.c.recv(65536)
        if not chunk:
            raise Gone()
        self.buf += chunk

    def read(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        data, self.buf = self.buf.split(b"\r\n", 1)
        return data

    def send(self, data):
        if self.mode == "mute":
            raise Held()
        if self.mode in ("reset", "close") and self.sent + len(data) >= self.n:
            self.c.sendall(data[: self.n - self.sent])
            raise Cut()
        self.c.sendall(data)
        self.sent += len(data)


def http(conn):
    while b"\r\n\r\n" not in conn.buf:
        conn.fill()
    if conn.mode == "bulk":
        return conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % conn.n + b"x" * conn.n)
    conn.send(ANSWER)


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def redis(conn):
    while True:
        head = conn.line()  # *COUNT, then COUNT bulk strings; or an inline command
        args = head.split()
        if head.startswith(b"*"):
            args = []
            for _ in range(int(head[1:])):
                size = int(conn.line()[1:])
                args.append(conn.read(size + 2)[:-2])
        if not args:  # an empty line, as redis-cli --pipe sends: ignored
            continue
        name = args[0].upper()
        if name == b"PING":
            conn.send(b"+PONG\r\n")
        elif name == b"GET":
            conn.send(bulk(VALUE))
        elif name == b"ECHO":
            conn.send(bulk(args[1]))
        else:
            conn.send(b"-ERR unknown command '%s'\r\n" % args[0])


def msg(kind, body):
    return kind + struct.pack(">i", len(body) + 4) + body


def pg(conn):
    while True:  # the SSL and GSS requests, declined, then the startup
        (size,) = struct.unpack(">i", conn.read(4))
        (code,) = struct.unpack(">i", conn.read(size - 4)[:4])
        if code not in (80877103, 80877104):
            break
        conn.send(b"N")
    params = [(b"server_version", b"15.0"), (b"server_encoding", b"UTF8"), (b"client_encoding", b"UTF8"), (b"DateStyle", b"ISO, MDY"),
              (b"integer_datetimes", b"on"), (b"standard_conforming_strings", b"on")]
    ready = msg(b"Z", b"I")
    conn.send(msg(b"R", struct.pack(">i", 0)) + b"".join(msg(b"S", k + b"\0" + v + b"\0") for k, v in params) +
              msg(b"K", struct.pack(">ii", 1, 2)) + ready)
    rows = msg(b"T", struct.pack(">h", 1) + b"x\0" + struct.pack(">ihihih", 0, 0, 25, -1, -1, 0))
    for i in range(100):
        value = b"row %03d " % i + VALUE[:42]
        rows += msg(b"D", struct.pack(">hi", 1, len(value)) + value)
    rows += msg(b"C", b"SELECT 100\0") + ready
    while True:
        kind = conn.read(1)
        (size,) = struct.unpack(">i", conn.read(4))
        conn.read(size - 4)
        if kind == b"X":
            return
        conn.send(rows if kind == b"Q" else msg(b"E", b"SERROR\0C0A000\0Mnot supported here\0\0") + ready)


def stream(conn):
    while b"\r\n\r\n" not in conn.buf:
        conn.fill()
    conn.c.sendall(STREAM[: conn.n])


def sink(c):
    got = bytearray()
    while b := c.recv(1 << 20):
        got += b
    with open(portfile + ".got", "a") as f:
        f.write("the server read %d bytes, STREAM's first: %s\n" % (len(got), "yes" if STREAM.startswith(got) else "NO"))
    c.close()


def serve(c, mode, n):
    if mode == "sink":
        return sink(c)
    if mode == "echo":
        while b := c.recv(65536):
            c.sendall(b)
        return c.close()
    conn = Conn(c, mode, n)
    try:
        talk(conn)
    except Held:
        held.append(c)
        return
    except Cut:
        if mode == "reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        return
    except (Gone, OSError, ValueError, struct.error):  # gone, or not the protocol
        c.close()
        return
    if mode == "hold":
        held.append(c)
        return
    if mode.startswith("late-"):
        time.sleep(n / 1000)
        if mode == "late-reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


held = []
portfile, args = sys.argv[1], sys.argv[2:]
talk = http
if args[0] == "--proto":
    talk = {"http": http, "redis": redis, "pg": pg}[args[1]]
    args = args[2:]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
mode = args[0]
n = int(args[1]) if len(args) > 1 else 0
if mode.startswith("stream") or mode == "sink":
    # 64 MiB: a random MiB, each copy numbered (a chunk lost, doubled or
    # moved anywhere shows); faultclient.py's
    BASE = random.Random(27).randbytes(1 << 20)
    STREAM = b"".join(i.to_bytes(4, "big") + BASE[4:] for i in range(64))
    talk = stream
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c, mode, n), daemon=True).start()
