"""faultclient.py KIND PORT: one client of 127.0.0.1:PORT, printing what it
saw in words that do not depend on the port or on timing.
  raw      a socket: the bytes it read, and how the reading ended (EOF, or
           the errno) - a RST and a FIN differ here
  http     http.client: the status and body length, or the exception
  urllib   urllib.request: the same
  peer     getpeername() after the connect
  flood    writes without reading, with a 1 s timeout: whether it blocked
  wait     reads with a 1 s timeout: whether it timed out"""
import errno
import http.client
import socket
import sys
import urllib.request

kind, port = sys.argv[1], int(sys.argv[2])
REQ = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def raw():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(REQ)
    got = 0
    try:
        while True:
            b = s.recv(65536)
            if not b:
                print("read %d bytes, then EOF" % got)
                return
            got += len(b)
    except OSError as e:
        print("read %d bytes, then %s" % (got, errno.errorcode.get(e.errno, e.errno)))


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


try:
    {"raw": raw, "http": http_client, "urllib": urllib_client, "peer": peer, "flood": flood, "wait": wait}[kind]()
except ConnectionRefusedError as e:
    print("connect: %s" % errno.errorcode.get(e.errno, e.errno))
