"""shapeclient.py KIND PORT [ARG]: a client of 127.0.0.1:PORT that times
what shaping changes, printing the words the test compares and, last, a
line "ms=N" (the time it measured).
  rtt N     a socket to an echo server: N round trips of 1 byte each,
            timed from the connect's end (the round trips alone)
  first     a socket: the request sent, timed to the first byte of the answer
  get       urllib.request: the body's length, timed whole
  http      http.client: the same
  sizes     a socket: the answer read as it comes; the largest read, and
            the median gap between reads (the pieces of a slice)
  upload N  a socket to an echo server: N bytes sent while their echo is
            read, timed whole; whether the echo came in order
  artt N    rtt, on asyncio streams
  aget      asyncio streams: the request, then the bytes read to the end,
            timed whole"""
import asyncio
import http.client
import socket
import sys
import time
import urllib.request

kind, port = sys.argv[1], int(sys.argv[2])
arg = int(sys.argv[3]) if len(sys.argv) > 3 else 0
REQ = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def rtt():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = time.monotonic()
    for _ in range(arg):
        s.sendall(b"x")
        if s.recv(1) != b"x":
            print("echo lost")
            break
    print("%d round trips" % arg)
    return t


def first():
    s = socket.create_connection(("127.0.0.1", port))
    t = time.monotonic()
    s.sendall(REQ)
    b = s.recv(1)
    print("first byte %r" % b)
    return t


def get():
    t = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=60) as r:
        print("status %d, %d bytes" % (r.status, len(r.read())))
    return t


def http_get():
    t = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/")
    r = c.getresponse()
    print("status %d, %d bytes" % (r.status, len(r.read())))
    return t


def sizes():
    s = socket.create_connection(("127.0.0.1", port))
    t = time.monotonic()
    s.sendall(REQ)
    reads, at = [], []
    while b := s.recv(65536):
        reads.append(len(b))
        at.append(time.monotonic())
    gaps = sorted(b - a for a, b in zip(at, at[1:]))
    print("%d bytes in %d reads, the largest %d bytes" % (sum(reads), len(reads), max(reads)))
    print("gap_ms=%d" % (gaps[len(gaps) // 2] * 1000 if gaps else 0))
    return t


def upload():
    s = socket.create_connection(("127.0.0.1", port))
    t = time.monotonic()
    data = bytes(i % 251 for i in range(arg))
    echo = bytearray()
    s.setblocking(False)
    sent = got = 0
    import select
    while got < arg:
        w = [s] if sent < arg else []
        r, w, _ = select.select([s], w, [])
        if w:
            sent += s.send(data[sent:sent + 65536])
        if r:
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
            echo += b
    print("%d bytes sent, %d echoed%s" % (sent, got, ", in order" if echo == data else ", out of order"))
    return t


def artt():
    async def run():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = time.monotonic()
        for _ in range(arg):
            w.write(b"x")
            if await r.readexactly(1) != b"x":
                print("echo lost")
                break
        print("%d round trips" % arg)
        w.close()
        return t

    return asyncio.run(run())


def aget():
    async def run():
        t = time.monotonic()
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(REQ)
        got = 0
        while b := await r.read(65536):
            got += len(b)
        print("%d bytes, then EOF" % got)
        w.close()
        return t

    return asyncio.run(run())


t = {"rtt": rtt, "first": first, "get": get, "http": http_get, "sizes": sizes, "upload": upload, "artt": artt, "aget": aget}[kind]()
print("ms=%d" % ((time.monotonic() - t) * 1000))
