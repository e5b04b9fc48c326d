# unixcase.py CASE DIR: one unix-socket connect made as a program would,
# printing what it saw, so that a test can compare bare, preloaded and
# supervised runs (t_unix_context). Paths are resolved by the kernel in this
# process's working directory, root and mount namespace, with its
# credentials; the server of a connect sees its pid and credentials.
#   rel DIR      in DIR: a listener 'x.sock', connected as './x.sock'
#   stale DIR    in DIR: a socket file whose listener has gone
#   missing DIR  in DIR: a path nothing is at
#   chroot DIR   chroot to DIR, then a listener '/run/x.sock' connected
#   abs DIR      a listener DIR/x.sock, connected by that path (mount namespace)
#   peer DIR     a listener DIR/peer.sock; what its server sees of the client
#   connect PATH connects to PATH alone
import errno
import os
import socket
import struct
import sys


def outcome(path, listener=None):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(5)
    try:
        c.connect(path)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    if listener is None:
        return 'connected'
    # Which listener took it: ours has it in its queue, or another did.
    listener.setblocking(False)
    try:
        a, _ = listener.accept()
    except BlockingIOError:
        return 'connected to another socket'
    if sys.argv[1] != 'peer':
        return 'connected to ours'
    pid, uid, gid = struct.unpack('3i', a.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return 'connected; the server sees pid %s uid %d gid %d' % (
        'of the client' if pid == os.getpid() else 'of another process (%d)' % pid, uid, gid)


def listen(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(8)
    return s


case, where = sys.argv[1], sys.argv[2]
if case == 'connect':
    print(outcome(where))
    sys.exit(0)
if case == 'chroot':
    os.chroot(where)
    os.chdir('/')
    os.makedirs('/run', exist_ok=True)
    print(outcome('/run/x.sock', listen('/run/x.sock')))
    sys.exit(0)
if case == 'abs':
    print(outcome(where + '/x.sock', listen(where + '/x.sock')))
    sys.exit(0)
if case == 'peer':
    s = listen(where + '/peer.sock')
    print(outcome(where + '/peer.sock', s))
    sys.exit(0)
os.chdir(where)
if case == 'rel':
    print(outcome('./x.sock', listen('x.sock')))
elif case == 'stale':
    listen('gone.sock').close()
    print(outcome('./gone.sock'))
elif case == 'missing':
    print(outcome('./nothing-here.sock'))
else:
    sys.exit('unixcase.py: unknown case ' + case)
