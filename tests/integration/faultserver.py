"""faultserver.py PORTFILE MODE [N]: the oracles of faults after connect,
real misbehaving servers on 127.0.0.1. Each connection: the request is
read (up to its blank line), then by MODE:
  normal  the whole answer (an HTTP response of 5,000 body bytes), closed
  reset   N bytes of that answer, then a close with SO_LINGER 0 (a RST)
  close   N bytes of it, then a plain close (a FIN)
  mute    nothing: it neither answers nor reads any more
  hold    the whole answer, and the connection stays open (a keep-alive)
  late-reset, late-close
          the whole answer, then N ms later a RST (SO_LINGER 0) or a FIN
  stream, stream-close
          N bytes of STREAM (faultclient.py's too: 64 MiB, seeded), then a
          FIN; stream-close is the oracle of a close after N bytes of it
  sink    no request: reads until EOF, then appends to PORTFILE.got how
          many bytes it read and whether they are STREAM's first ones
Writes its port to PORTFILE once it listens."""
import random
import socket
import struct
import sys
import threading
import time

BODY = bytes((i * 7) % 251 for i in range(5000))
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY) + BODY


def sink(c):
    got = bytearray()
    while b := c.recv(1 << 20):
        got += b
    with open(sys.argv[1] + ".got", "a") as f:
        f.write("the server read %d bytes, STREAM's first: %s\n" % (len(got), "yes" if STREAM.startswith(got) else "NO"))
    c.close()


def serve(c, mode, n):
    if mode == "sink":
        return sink(c)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    if mode == "normal":
        c.sendall(ANSWER)
        c.close()
    elif mode == "reset":
        c.sendall(ANSWER[:n])
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    elif mode == "close":
        c.sendall(ANSWER[:n])
        c.close()
    elif mode.startswith("stream"):
        c.sendall(STREAM[:n])
        c.close()
    elif mode == "hold":
        c.sendall(ANSWER)
        held.append(c)
    elif mode.startswith("late-"):
        c.sendall(ANSWER)
        time.sleep(n / 1000)
        if mode == "late-reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    else:  # mute: the socket stays open and unread until the client goes
        held.append(c)


held = []
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
mode = sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
if mode.startswith("stream") or mode == "sink":
    # 64 MiB: a random MiB, each copy numbered (a chunk lost, doubled or
    # moved anywhere shows); faultclient.py's
    BASE = random.Random(27).randbytes(1 << 20)
    STREAM = b"".join(i.to_bytes(4, "big") + BASE[4:] for i in range(64))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c, mode, n), daemon=True).start()
