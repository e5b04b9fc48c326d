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
  echo    no request read: every byte read is written back, until EOF
  bulk    an HTTP response of N body bytes (the shaping's transfers)
Writes its port to PORTFILE once it listens."""
import socket
import struct
import sys
import threading
import time

BODY = bytes((i * 7) % 251 for i in range(5000))
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY) + BODY


def serve(c, mode, n):
    if mode == "echo":
        while b := c.recv(65536):
            c.sendall(b)
        return c.close()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    if mode == "bulk":
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n + b"x" * n)
        c.close()
    elif mode == "normal":
        c.sendall(ANSWER)
        c.close()
    elif mode == "reset":
        c.sendall(ANSWER[:n])
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    elif mode == "close":
        c.sendall(ANSWER[:n])
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
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c, mode, n), daemon=True).start()
