"""connrefuse for pytest: rules applied for one test or one `with` block.

    pytest -p connrefuse_pytest            # or: connrefuse run -c FILE -- pytest -p connrefuse_pytest

    def test_retry(connrefuse):
        connrefuse.set('{ name = "db"; dst = "127.0.0.1"; port = 5432; action = "refuse"; first = 2; }')
        ...
        assert connrefuse.fired("db") == 2

Not under `connrefuse run`, the plugin re-executes pytest under it (the
library must be preloaded from the process's start, and xdist workers and
subprocesses inherit it). Each xdist worker gets its own rules file.
See doc/test-suites.md.
"""
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import pytest

EMPTY = "version = 1;\nrules = ( );\n"


def _command():
    cmd = os.environ.get("CONNREFUSE") or shutil.which("connrefuse")
    if not cmd:
        raise pytest.UsageError("connrefuse: the connrefuse command is not on PATH (or set CONNREFUSE=/path/to/connrefuse)")
    return cmd


def _under_run():
    return bool(os.environ.get("CONNREFUSE_RUN_STATE")) and bool(os.environ.get("CONNREFUSE_CONFIG"))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if _under_run() or os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    folder = tempfile.mkdtemp(prefix="connrefuse-pytest-")
    rules = os.path.join(folder, "rules.cfg")
    with open(rules, "w") as f:
        f.write(EMPTY)
    argv = [_command(), "run", "-c", rules, "--", sys.executable, "-m", "pytest"] + sys.argv[1:]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs):
    """Each worker its own rules file, in its environment before it starts
    (the library reads CONNREFUSE_CONFIG once, when the process starts)."""
    base = os.environ["CONNREFUSE_CONFIG"]
    for i, spec in enumerate(specs):
        path = "%s.gw%d" % (base, i)
        shutil.copyfile(base, path)
        python = spec.python or sys.executable
        spec.python = "env CONNREFUSE_CONFIG=%s %s" % (shlex.quote(path), python)


def _text(rules):
    if "version" in rules:
        return rules
    return "version = 1;\nrules = (\n%s\n);\n" % rules


class Connrefuse:
    """The rules file of this process (this xdist worker), changed in place."""

    def __init__(self):
        if not _under_run():
            pytest.fail("connrefuse: not under connrefuse run: load the plugin with -p connrefuse_pytest "
                        "(it re-executes pytest under connrefuse run)", pytrace=False)
        self.path = os.environ["CONNREFUSE_CONFIG"]
        with open(self.path) as f:
            self.original = f.read()
        self.cmd = _command()

    def _reload(self, text, reset):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.path)
        args = [self.cmd, "reload", self.path] + (["--reset"] if reset else [])
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError("connrefuse reload failed: %s" % done.stderr.strip())

    def set(self, rules):
        """Rules in force from now until the end of the test (or the with
        block): `connrefuse reload` has returned, so the very next connect
        of this process and its children decides with them. Counters of
        these rules start from zero."""
        self._reload(_text(rules), reset=True)

    def restore(self):
        self._reload(self.original, reset=False)

    @contextlib.contextmanager
    def rules(self, rules):
        with open(self.path) as f:
            before = f.read()
        self.set(rules)
        try:
            yield self
        finally:
            self._reload(before, reset=False)

    def stats(self):
        out = subprocess.run([self.cmd, "stats", "--json", self.path], stdout=subprocess.PIPE, check=True, text=True)
        return {r["name"]: r for r in json.loads(out.stdout)["rules"]}

    def fired(self, name):
        return self.stats()[name]["fired"]

    def attempts(self, name):
        return self.stats()[name]["attempts"]


@pytest.fixture
def connrefuse():
    cr = Connrefuse()
    try:
        yield cr
    finally:
        cr.restore()
