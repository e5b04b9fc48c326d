"""Run by tests/integration/t_helpers.sh: pytest -p connrefuse_pytest."""
import pytest

from client import fetch

NOLOG = 'version = 1; log: { syslog = false; level = "none"; };'


def rule(port, extra=""):
    return '%s rules = ( { name = "db"; dst = "127.0.0.1"; port = %d; action = "refuse"; %s } );' % (NOLOG, port, extra)


def test_refused_twice_then_served(connrefuse, server):
    connrefuse.set(rule(server, "first = 2;"))
    assert fetch(server) == (b"hello\n", 3)
    assert connrefuse.fired("db") == 2
    assert connrefuse.attempts("db") == 3


def test_with_block(connrefuse, server):
    with connrefuse.rules(rule(server, "first = 1000;")):
        with pytest.raises(ConnectionRefusedError):
            fetch(server, tries=3)
        assert connrefuse.fired("db") == 3
    assert fetch(server) == (b"hello\n", 1)


def test_fails_on_purpose(connrefuse, server):
    connrefuse.set(rule(server))
    assert fetch(server, tries=1) == (b"hello\n", 1)  # refused: this test fails


def test_rules_restored_after_a_failure(server):
    assert fetch(server, tries=1) == (b"hello\n", 1)
