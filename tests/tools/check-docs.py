"""check-docs.py CLI SRC DOCS: holds the documentation to the program.

The truth comes from the program, not from a list kept here: the commands
and options from `CLI --help` and `CLI --help COMMAND` (and the getopt
tables of src/cli/COMMAND.c, for long forms the help leaves out), the config keys
from the messages `CLI check` gives for an unknown key in each scope, the
environment variables from the getenv calls under SRC. DOCS is a tree
holding README.md and doc/ (the checkout, or a copy of it).

It checks both ways: every command, option, key and variable the docs name
exists; every one that exists is documented in doc/ (commands.md,
config.md) and in the man pages. Also: config examples (``` cfg blocks)
pass `CLI check`, relative links and their #anchors lead somewhere, and
the README stays short, with its contents and "How do I" sections.

Prints one line a problem, "DOCS-relative-file: what", and a last line
with the counts; exits 1 if there was a problem.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

README_MAX_LINES = 300

problems = []


def problem(path, what):
    problems.append("%s: %s" % (path, what))


def run(args):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


# ---- the truth, from the program and its source ----

def cli_truth(cli):
    """{command: set of options}; the options every command takes under ''."""
    _, out = run([cli, "--help"])
    cmds = {}
    for m in re.finditer(r"^(?:usage:)?\s+connrefuse ([a-z]+)(.*)$", out, re.M):
        cmds.setdefault(m.group(1), set()).update(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?![\w-])", m.group(2)))
    cmds[""] = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", " ".join(
        l for l in out.splitlines() if re.match(r"\s*connrefuse --", l))))
    for c in [c for c in cmds if c]:
        # Its usage lines and the lines that describe an option, not the prose.
        _, text = run([cli, "--help", c])
        lines = [l for l in text.splitlines() if l.startswith("connrefuse " + c) or re.match(r"\s+-", l)]
        cmds[c] |= set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?![\w-])", " ".join(lines)))
    return cmds


def source_options(src, cmds):
    """Adds the long options of each command's getopt table (src/cli/CMD.c),
    which may hold a long form that the help leaves out."""
    for cmd in [c for c in cmds if c]:
        path = os.path.join(src, "cli", cmd + ".c")
        if not os.path.exists(path):
            continue
        for table in re.findall(r"struct option \w+\[\] = \{(.*?)\};", read(path), re.S):
            cmds[cmd] |= set("--" + n for n in re.findall(r'\{ *"([a-z][a-z-]*)"', table) if n != "help")


def key_truth(cli):
    """{scope: [keys]}: scopes '', 'log', 'relay', 'rule', 'window', 'flap'."""
    probes = {
        "": "bogus_key = 1;",
        "log": "log: { bogus_key = 1; };",
        "relay": "relay = { bogus_key = 1; };",
        "rule": "rules = ( { bogus_key = 1; } );",
        "window": "rules = ( { window = { bogus_key = 1; }; } );",
        "flap": "rules = ( { flap = { bogus_key = 1; }; } );",
    }
    keys = {}
    with tempfile.TemporaryDirectory() as d:
        for scope, text in probes.items():
            path = os.path.join(d, "probe.cfg")
            with open(path, "w") as f:
                f.write("version = 1;\n" + text + "\n")
            _, out = run([cli, "check", path])
            m = re.search(r"takes: ([a-z_, ]+)\)", out) or re.search(r"expected ([a-z_]+) and ([a-z_]+)\)", out)
            if not m:
                sys.exit("check-docs: cannot read the %s keys from: %s" % (scope or "top-level", out.strip()))
            keys[scope] = [k.strip() for g in m.groups() for k in g.split(",")]
    return keys


def env_truth(src):
    names = set()
    for path in glob.glob(os.path.join(src, "**", "*.c"), recursive=True):
        with open(path, errors="replace") as f:
            names |= set(re.findall(r'getenv\("(CONNREFUSE_[A-Z_]+)"\)', f.read()))
    return names


# ---- reading the docs ----

def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def md_code(text):
    """(code spans, fenced blocks as (tag, text)) of a Markdown text."""
    blocks = [(m.group(1).strip(), m.group(2)) for m in re.finditer(r"^```([^\n]*)\n(.*?)^```", text, re.M | re.S)]
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.M | re.S)
    spans = re.findall(r"`([^`\n]+)`", prose)
    return spans, blocks


def man_text(text):
    """A man page's text with the escapes that matter here undone."""
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace('\\(dq', '"')


def slug(heading):
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def sections(text, level="## "):
    """{heading: body} of a Markdown text at one level."""
    out = {}
    parts = re.split(r"^" + re.escape(level) + r"(.+)$", text, flags=re.M)
    for i in range(1, len(parts), 2):
        out[parts[i].strip()] = parts[i + 1]
    return out


# ---- the checks ----

def check_uses(rel, line, cmds):
    """Commands and options named in one piece of code exist."""
    everything = set().union(*cmds.values())
    for m in re.finditer(r"(?:^|(?<=[\s(/]))connrefuse (-?-?[a-z][\w-]*)", line):
        word = m.group(1)
        if word.startswith("-"):
            if word not in cmds[""]:
                problem(rel, "'connrefuse %s': no such option of connrefuse" % word)
            continue
        if word not in cmds:
            problem(rel, "'connrefuse %s': no such command (commands: %s)" % (word, ", ".join(sorted(c for c in cmds if c))))
            continue
        check_options(rel, word, line[m.end():], cmds)
    first = line.split()[0] if line.split() else ""
    if first in cmds and first:
        check_options(rel, first, line[len(first):], cmds)
    elif re.fullmatch(r"--[a-z][a-z-]*|-[a-zA-Z]", first) and first not in everything:
        problem(rel, "'%s': no command of connrefuse takes this option" % first)


def check_options(rel, cmd, rest, cmds):
    for tok in rest.split():
        tok = tok.strip("[]()`,.'\"")
        if tok in ("--", "|", ";", "&&", "#") or tok.startswith(("#", ">", "2>")):
            return
        opt = re.match(r"(--?[a-zA-Z][a-z-]*)", tok)
        if opt and opt.group(1) not in cmds[cmd] | cmds[""]:
            problem(rel, "'connrefuse %s %s': %s takes no such option" % (cmd, opt.group(1), cmd))


def check_keys_named(rel, spans, keys):
    every = set(k for ks in keys.values() for k in ks)
    for s in spans:
        for m in re.finditer(r"(?<![\w.])log\.([a-z_]+)", s):
            if m.group(1) not in keys["log"]:
                problem(rel, "'log.%s': no such key (log takes: %s)" % (m.group(1), ", ".join(keys["log"])))
        m = re.match(r"([a-z_]+) = ", s)
        if m and m.group(1) not in every:
            problem(rel, "'%s': no such config key" % s)


def check_cfg_blocks(rel, blocks, cli):
    for tag, body in blocks:
        if tag != "cfg":
            if re.search(r"^\s*rules = \(", body, re.M):
                problem(rel, "a config example not marked ```cfg (so not checked): %s" % body.splitlines()[0][:60])
            continue
        text = body if re.search(r"^\s*version\s*=", body, re.M) else "version = 1;\n" + body
        with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
            f.write(text)
        rc, out = run([cli, "check", f.name])
        os.unlink(f.name)
        if rc != 0:
            problem(rel, "a ```cfg example does not pass connrefuse check: %s" % out.strip().splitlines()[-1])


def check_links(docs, rel, text):
    for m in re.finditer(r"\]\(([^)\s]+)\)", text):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(docs, os.path.dirname(rel), path)) if path else os.path.join(docs, rel)
        if not os.path.exists(full):
            problem(rel, "link to %s: no such file" % target)
            continue
        if anchor and full.endswith(".md"):
            heads = [slug(h) for h in re.findall(r"^#+ (.+)$", read(full), re.M)]
            if anchor not in heads:
                problem(rel, "link to %s: no heading #%s there" % (target, anchor))


def check_documented(docs, cmds, keys, env):
    config = read(os.path.join(docs, "doc/config.md"))
    commands = read(os.path.join(docs, "doc/commands.md"))
    man1 = man_text(read(os.path.join(docs, "doc/connrefuse.1")))
    man5 = man_text(read(os.path.join(docs, "doc/connrefuse.cfg.5")))
    cfg_secs = sections(config)
    where = {"": ["Top level"], "log": ["log"], "relay": ["relay"], "rule": ["Rules", "Schedules"], "window": ["Schedules"], "flap": ["Schedules"]}
    man_where = {"": ["", "Top level"], "log": ["log"], "relay": ["relay"], "rule": ["Rules", "Schedules"]}
    man_secs = {"": man5}
    for m in re.finditer(r"^\.SS ([^\n]+)\n(.*?)(?=^\.S[SH] |\Z)", man5, re.M | re.S):
        man_secs[m.group(1).strip()] = m.group(2)
    for scope, names in keys.items():
        for k in names:
            full = (scope + "." if scope else "") + k
            bodies = [cfg_secs.get(h, "") for h in where[scope]]
            if scope in ("window", "flap"):
                ok = any(re.search(r"\b%s = " % k, b) for b in bodies)
                ok_man = re.search(r"\b%s = " % k, man5)
            else:
                ok = any(re.search(r"^\| `%s` \|" % k, b, re.M) for b in bodies)
                # As the unit test reads it: .B KEY in its section, or a .SS KEY.
                ok_man = any(re.search(r"^\.B %s( |$)" % k, man_secs.get(h, ""), re.M) for h in man_where[scope]) \
                    or re.search(r"^\.SS %s$" % k, man5, re.M | re.I)
            if not ok:
                problem("doc/config.md", "key %s is not documented (no row | `%s` | under ## %s)" % (full, k, " or ## ".join(where[scope])))
            if not ok_man:
                problem("doc/connrefuse.cfg.5", "key %s is not documented (under .SS %s)" % (full, " or .SS ".join(man_where.get(scope, ["Schedules"]))))
    rows = {}
    for line in commands.splitlines():
        m = re.match(r"\| `connrefuse (--?[a-z]+|[a-z]+)", line)
        if m:
            rows[m.group(1)] = line
    for cmd, opts in cmds.items():
        row = rows.get(cmd or "--version", "")
        if cmd and not row:
            problem("doc/commands.md", "command %s is not documented (no row | `connrefuse %s` |)" % (cmd, cmd))
        if cmd and not re.search(r"^\.B connrefuse %s\b" % cmd, man1, re.M):
            problem("doc/connrefuse.1", "command %s is not in the synopsis (.B connrefuse %s)" % (cmd, cmd))
        for o in sorted(opts):
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), row):
                problem("doc/commands.md", "option %s of %s is not documented (in the row of connrefuse %s)" % (o, cmd or "connrefuse", cmd or "--version"))
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), man1):
                problem("doc/connrefuse.1", "option %s of %s is not documented" % (o, cmd or "connrefuse"))
    env_sec = re.search(r"^\.SH ENVIRONMENT\n(.*?)^\.SH ", man1, re.M | re.S)
    for v in sorted(env):
        if not re.search(r"^\| `%s` \|" % v, cfg_secs.get("The environment", ""), re.M):
            problem("doc/config.md", "variable %s is not documented (no row under ## The environment)" % v)
        if not env_sec or not re.search(r"^\.B %s$" % v, env_sec.group(1), re.M):
            problem("doc/connrefuse.1", "variable %s is not documented under .SH ENVIRONMENT" % v)


def main():
    cli, src, docs = sys.argv[1:4]
    cmds, keys, env = cli_truth(cli), key_truth(cli), env_truth(src)
    source_options(src, cmds)
    if len(cmds) < 2 or not keys.get("rule") or not env:
        sys.exit("check-docs: no truth read from %s and %s" % (cli, src))
    mds = ["README.md"] + sorted(os.path.relpath(p, docs) for p in glob.glob(os.path.join(docs, "doc", "**", "*.md"), recursive=True))
    for rel in mds:
        text = read(os.path.join(docs, rel))
        spans, blocks = md_code(text)
        for piece in spans + [l.lstrip("$ ") for _, b in blocks for l in b.splitlines()]:
            check_uses(rel, piece, cmds)
        check_keys_named(rel, spans, keys)
        check_cfg_blocks(rel, blocks, cli)
        check_links(docs, rel, text)
        for v in set(re.findall(r"\bCONNREFUSE_[A-Z_]*[A-Z]\b", text)) - env:
            problem(rel, "%s: the library reads no such variable" % v)
    for rel in ("doc/connrefuse.1", "doc/connrefuse.cfg.5"):
        text = man_text(read(os.path.join(docs, rel)))
        for line in text.splitlines():
            check_uses(rel, re.sub(r"^\.[A-Z]+ ", "", line), cmds)
        for v in set(re.findall(r"\bCONNREFUSE_[A-Z_]*[A-Z]\b", text)) - env:
            problem(rel, "%s: the library reads no such variable" % v)
    man5 = man_text(read(os.path.join(docs, "doc/connrefuse.cfg.5")))
    every = set(k for ks in keys.values() for k in ks)
    for m in re.finditer(r"^\.TP\n\.B ([a-z_]+)$", man5, re.M):
        if m.group(1) not in every:
            problem("doc/connrefuse.cfg.5", "key %s: no such config key" % m.group(1))
    check_documented(docs, cmds, keys, env)
    readme = read(os.path.join(docs, "README.md"))
    n = readme.count("\n")
    if n > README_MAX_LINES:
        problem("README.md", "%d lines: at most %d (move detail to doc/)" % (n, README_MAX_LINES))
    for h in ("Contents", "How do I"):
        if not re.search(r"^## %s" % h, readme, re.M):
            problem("README.md", "no '## %s' section" % h)
    for p in problems:
        print(p)
    nopts = len(set().union(*cmds.values()))
    print("docs: %d problems; %d files; %d commands, %d options, %d keys, %d variables checked both ways" % (
        len(problems), len(mds) + 2, len(cmds) - 1, nopts, sum(len(k) for k in keys.values()), len(env)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
