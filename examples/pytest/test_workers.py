"""Run with pytest -n 2: two workers, opposite rules, at the same time."""
import os
import socket
import time

import pytest

NOLOG = 'version = 1; log: { syslog = false; level = "none"; };'


def refuse(port):
    return '%s rules = ( { name = "x"; dst = "127.0.0.1"; port = %d; action = "refuse"; } );' % (NOLOG, port)


def connects(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return True
    except ConnectionRefusedError:
        return False


def together(me, other):
    """Both workers inside their rules at once (bounded: a lost peer fails)."""
    folder = os.environ["CR_EXAMPLE_SYNC"]
    open(os.path.join(folder, me), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(folder, other)):
        assert time.monotonic() < deadline, "the other worker never came"
        time.sleep(0.01)


def check(connrefuse, refused, served, me, other):
    connrefuse.set(refuse(refused))
    together(me, other)
    for _ in range(200):
        assert not connects(refused)
        assert connects(served)
    print("worker", os.environ.get("PYTEST_XDIST_WORKER"), file=open(os.path.join(os.environ["CR_EXAMPLE_SYNC"], "worker." + me), "w"))
    together(me + ".done", other + ".done")


def test_a_refuses_first(connrefuse):
    a, b = int(os.environ["CR_PORT_A"]), int(os.environ["CR_PORT_B"])
    check(connrefuse, a, b, "a", "b")


def test_b_refuses_second(connrefuse):
    a, b = int(os.environ["CR_PORT_A"]), int(os.environ["CR_PORT_B"])
    check(connrefuse, b, a, "b", "a")
