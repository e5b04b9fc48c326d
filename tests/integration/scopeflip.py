"""scopeflip.py STATE PORT: inside a preloaded process, every byte of the
shared state file STATE flipped in turn (through a mapping of our own),
with a connect to 127.0.0.1:PORT after each flip, the byte then restored.
Prints the number of connects made: the library must survive any content."""
import mmap
import os
import socket
import sys

path, port = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDWR)
size = os.fstat(fd).st_size
m = mmap.mmap(fd, size)
made = 0
for i in range(size):
    old = m[i]
    m[i] = old ^ 0xFF
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        pass
    s.close()
    made += 1
    m[i] = old
print(made)
