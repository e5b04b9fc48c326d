"""check-hooks.py SRC [BUILD]: the interposed functions are those of one
list, SRC/preload/hooks.def, from which the real-function table, the
fallbacks, the resolution and the version script are made.

In SRC: every function marked CR_EXPORT is listed there (or is the public
API of include/connrefuse.h): an unlisted hook would be hidden by the
version script and never run. Every entry is defined by a hook (CR_EXPORT,
in preload/). With BUILD: each libconnrefuse.so built there (the bundle's
too) exports the listed functions and the public API, nothing else; no
preload object defines a global function that is neither listed nor cr_*
(a hook written without CR_EXPORT, which would shadow the C library's
function inside the library alone). Prints every breach; exit 1 if any."""
import glob
import os
import re
import subprocess
import sys

src = os.path.normpath(sys.argv[1] if len(sys.argv) > 1 else "src")
build = os.path.normpath(sys.argv[2]) if len(sys.argv) > 2 else None
top = os.path.dirname(os.path.abspath(src))
list_path = os.path.join(src, "preload", "hooks.def")
bad = []


def code_of(path):
    """The text with comments blanked and preprocessor lines (with their
    continuations) emptied; newlines kept, so offsets give line numbers."""
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    return re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", "", text, flags=re.M)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


# The list: CR_HOOK(return type, name, (parameter types), fallback).
listed = {}
text = code_of(list_path)
for m in re.finditer(r"\bCR_HOOK\s*\(\s*[^,]+,\s*(\w+)\s*,", text):
    name, where = m.group(1), "%s:%d" % (list_path, line_of(text, m.start()))
    if name in listed:
        bad.append("%s: %s is listed twice (first at %s)" % (where, name, listed[name]))
    listed.setdefault(name, where)
if not listed:
    bad.append("%s: no CR_HOOK entry found" % list_path)

api = set(re.findall(r"\b(connrefuse_\w+)\s*\(", code_of(os.path.join(top, "include", "connrefuse.h"))))

# What the sources mark CR_EXPORT: the name before the first parenthesis; a
# definition when the parameters are followed by a body.
defined = {}
for path in sorted(glob.glob(os.path.join(src, "*", "*.[ch]"))):
    text = code_of(path)
    for m in re.finditer(r"\bCR_EXPORT\b([^;{(]*?)(\w+)\s*\(", text):
        name, where = m.group(2), "%s:%d" % (path, line_of(text, m.start()))
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        is_body = text[i:].lstrip().startswith("{")
        if name in listed:
            if is_body and "/preload/" in path.replace(os.sep, "/"):
                defined.setdefault(name, where)
        elif name not in api:
            bad.append("%s: %s is marked CR_EXPORT but is not in %s: the version script made from the list "
                       "hides it, so it never runs (add its CR_HOOK entry there, or drop CR_EXPORT)"
                       % (where, name, list_path))
for name, where in sorted(listed.items(), key=lambda kv: kv[1]):
    if name not in defined:
        bad.append("%s: %s is listed, but no hook in %s defines it (CR_EXPORT)"
                   % (where, name, os.path.join(src, "preload")))


def nm(args):
    out = subprocess.run(["nm"] + args, capture_output=True, text=True)
    if out.returncode != 0:
        bad.append("nm %s: %s" % (" ".join(args), out.stderr.strip()))
    return out.stdout


libs = []
if build:
    libs = [os.path.join(build, "libconnrefuse.so")] + sorted(glob.glob(os.path.join(build, "bundle", "*", "libconnrefuse.so")))
    for lib in libs:
        if not os.path.exists(lib):
            bad.append("%s: not built" % lib)
            continue
        exported = {line.split()[-1].split("@")[0] for line in nm(["-D", "--defined-only", lib]).splitlines()
                    if len(line.split()) == 3}
        for name in sorted(exported - set(listed) - api):
            bad.append("%s exports %s, which is neither in %s nor the public API" % (lib, name, list_path))
        for name in sorted((set(listed) | api) - exported):
            bad.append("%s does not export %s (%s)" % (lib, name, listed.get(name, "include/connrefuse.h")))
    objs = sorted(glob.glob(os.path.join(build, "obj", "preload", "*.o")))
    if not objs:
        bad.append("%s: no preload object" % os.path.join(build, "obj", "preload"))
    # Names with a leading underscore belong to the compiler and its
    # runtimes (the sanitizers' builds).
    for obj in objs:
        for line in nm(["-g", "--defined-only", obj]).splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TW" and not f[2].startswith(("cr_", "_")) and f[2] not in listed:
                bad.append("%s defines %s, a global function neither in %s nor named cr_*: a hook outside the list?"
                           % (obj, f[2], list_path))
for b in bad:
    print(b)
print("hooks: %d listed, %d defined, %d libraries checked, %d breaches" % (len(listed), len(defined), len(libs), len(bad)))
sys.exit(1 if bad else 0)
