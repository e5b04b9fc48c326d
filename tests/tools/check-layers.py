"""check-layers.py SRC: the include rules of the layers (src/README.md).

Each quoted #include in src/LAYER/ names a file of the same folder, the
public header (include/), or LAYER2/FILE of a layer LAYER may use:
engine uses none, preload, seccomp, audit and relay the engine, cli the
engine, seccomp (run --seccomp starts the supervisor), audit (connrefuse
audit loads the kernel program) and relay (run hosts the relay). A header named *_impl.h
is the inside of its layer (engine/rules_impl.h: the rule image's records):
no other layer includes it. And no file includes itself through others (no
cycle). Prints every breach; exit 1 if any."""
import os
import re
import sys

ALLOWED = {"engine": set(), "preload": {"engine"}, "seccomp": {"engine"}, "audit": {"engine"},
           "relay": {"engine"}, "cli": {"engine", "seccomp", "audit", "relay"}}
src = sys.argv[1] if len(sys.argv) > 1 else "src"
public = os.path.join(os.path.dirname(os.path.abspath(src)), "include")
bad, graph = [], {}
for layer in sorted(os.listdir(src)):
    folder = os.path.join(src, layer)
    if not os.path.isdir(folder):
        continue
    if layer not in ALLOWED:
        bad.append("%s: a folder that is no layer (known: %s)" % (folder, ", ".join(sorted(ALLOWED))))
        continue
    for name in sorted(os.listdir(folder)):
        if not name.endswith((".c", ".h")):
            continue
        path = os.path.join(layer, name)
        graph[path] = []
        for n, line in enumerate(open(os.path.join(folder, name)), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            inc = m.group(1)
            where = "%s:%d: #include \"%s\"" % (os.path.join(src, path), n, inc)
            if "/" not in inc:
                if os.path.exists(os.path.join(folder, inc)):
                    graph[path].append(os.path.join(layer, inc))
                elif not os.path.exists(os.path.join(public, inc)):
                    bad.append(where + ": no such file in %s/ or include/" % layer)
                continue
            other = inc.split("/")[0]
            if other not in ALLOWED[layer]:
                bad.append(where + ": %s may not include %s (arrows run toward the engine)" % (layer, other))
            elif inc.endswith("_impl.h"):
                bad.append(where + ": the inside of %s, for its own files only" % other)
            elif not os.path.exists(os.path.join(src, inc)):
                bad.append(where + ": no such file")
            else:
                graph[path].append(inc)


def cycle_from(start):
    stack, seen = [(start, [start])], set()
    while stack:
        node, trail = stack.pop()
        for nxt in graph.get(node, []):
            if nxt == start:
                return trail + [nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, trail + [nxt]))
    return None


for f in sorted(graph):
    c = cycle_from(f)
    if c:
        bad.append("include cycle: " + " -> ".join(c))
        break
for b in bad:
    print(b)
print("layers: %d files, %d includes checked, %d breaches" % (len(graph), sum(map(len, graph.values())), len(bad)))
sys.exit(1 if bad else 0)
