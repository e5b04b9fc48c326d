"""check-calls.py BUILD SRC: the calls between files, as the linker sees them.

check-layers.py reads the includes; a call needs no include (a prototype
written by hand, a libc function that the preload library also defines),
so this reads the objects make built (BUILD/obj/LAYER/FILE.o, one a file of
SRC/LAYER/) with nm: a file that leaves a symbol undefined which another
file defines uses that file. Three kinds of breach:

- a call back up: a file using a file of a layer its own may not use
  (the rules of src/README.md, the same table as check-layers.py);
- a circle: files that use each other, directly or through others (a
  strongly connected component of more than one file);
- an engine file calling a C library function that the preload library
  also defines: inside the library, linked -Bsymbolic, that call lands in
  the hook. Those functions are what BUILD/libconnrefuse.so exports,
  less the public API (connrefuse_*, include/connrefuse.h); engine/sys.h
  has the wrappers to call instead.

Prints the counts and every breach (file -> file: symbols); exit 1 if any."""
import os
import re
import subprocess
import sys

ALLOWED = {"engine": set(), "preload": {"engine"}, "seccomp": {"engine"}, "audit": {"engine"},
           "relay": {"engine"}, "cli": {"engine", "seccomp", "audit", "relay"}}


def nm(args, path):
    out = subprocess.run(["nm"] + args + [path], check=True, capture_output=True, text=True).stdout
    # nm -P: NAME TYPE [VALUE SIZE]
    return [line.split()[:2] for line in out.splitlines() if len(line.split()) >= 2]


def interposed(build, src):
    """The functions the preload library defines for the program: its
    exports, less the public API. Without the library, the version
    script's global names."""
    lib = os.path.join(build, "libconnrefuse.so")
    if os.path.exists(lib):
        names = {n for n, t in nm(["-D", "-P", "--defined-only"], lib) if t in "TtWiI"}
    else:
        text = open(os.path.join(src, "preload", "libconnrefuse.map")).read()
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        glob = re.search(r"global:(.*?)(local:|})", text, re.S).group(1)
        names = {n for n in re.findall(r"[\w*]+", glob) if "*" not in n}
    return {n for n in names if not n.startswith("connrefuse_")}


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    build, src = argv[1], argv[2]
    objdir = os.path.join(build, "obj")
    defined, undefined = {}, {}  # symbol -> file; file -> set of symbols
    for layer in sorted(os.listdir(src)):
        if not os.path.isdir(os.path.join(src, layer)):
            continue
        for name in sorted(os.listdir(os.path.join(src, layer))):
            if not name.endswith(".c") or name.endswith(".bpf.c"):
                continue  # (a .bpf.c is the kernel's program: never linked)
            f = layer + "/" + name
            obj = os.path.join(objdir, layer, name[:-2] + ".o")
            if not os.path.exists(obj):
                sys.exit("%s: not built (make first)" % obj)
            undefined[f] = set()
            for sym, t in nm(["-P"], obj):
                if t in "Uw":
                    undefined[f].add(sym)
                elif t.isupper():
                    defined[sym] = f
    # A hooked function is the C library's to the command; to the engine
    # it is the hook's, counted apart below.
    hooks = interposed(build, src)
    uses = {}  # (from, to) -> set of symbols
    for f, syms in undefined.items():
        for s in syms:
            if s in defined and defined[s] != f and s not in hooks:
                uses.setdefault((f, defined[s]), set()).add(s)
    layer_of = lambda f: f.split("/")[0]

    def show(pair):
        return "%s -> %s: %s" % (pair[0], pair[1], ", ".join(sorted(uses[pair])))

    back_up = [p for p in sorted(uses) if layer_of(p[0]) != layer_of(p[1]) and layer_of(p[1]) not in ALLOWED[layer_of(p[0])]]
    circles = components(sorted(undefined), uses)
    into_hooks = [(f, sorted(undefined[f] & hooks)) for f in sorted(undefined) if layer_of(f) == "engine" and undefined[f] & hooks]
    for p in back_up:
        print("call back up: " + show(p))
    for c in circles:
        print("circle: " + " ".join(c))
        for p in sorted(uses):
            if p[0] in c and p[1] in c:
                print("    " + show(p))
    for f, syms in into_hooks:
        print("engine call into a hook: %s -> preload: %s (use engine/sys.h)" % (f, ", ".join(syms)))
    two_way = sum(1 for (a, b) in uses if (b, a) in uses and a < b)
    print("calls: %d files, %d uses between files (%d symbols); %d calls back up, %d circles (%d files, %d pairs "
          "that call each other), %d engine calls into hooks (%d hooked functions)"
          % (len(undefined), len(uses), sum(map(len, uses.values())), len(back_up), len(circles),
             sum(map(len, circles)), two_way, len(into_hooks), len(hooks)))
    return 1 if back_up or circles or into_hooks else 0


def components(files, uses):
    """Tarjan's strongly connected components of more than one file."""
    succ = {f: sorted({b for (a, b) in uses if a == f}) for f in files}
    for (a, b) in uses:
        succ.setdefault(b, [])
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for f in sorted(succ):
        if f not in index:
            visit(f)
    return sorted(out)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
