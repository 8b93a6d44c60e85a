#!/usr/bin/env python3
"""layout.py: the source tree keeps the shape doc/design.md draws (TAP).

  1. Floors and rooms: every #include "x.h" of a file names a header of a
     folder its own folder may use (FLOORS below, the map of
     doc/design.md); nothing points up a floor or sideways outside it.
  2. Sizes: no .c file of the program or its tests is over MAX_LINES.
  3. No cycles between headers (#include), nor between the compiled files
     (a .o using a symbol another .o defines, read with nm from the build
     directory), so each file stands on its own floor.

Usage: layout.py [SRCDIR [BUILDDIR]] (defaults: $VAULT_SRCDIR,
$VAULT_BUILDDIR, else the checkout this script is in).
"""
import os
import re
import subprocess
import sys

MAX_LINES = 1000

# folder -> the folders its files may include headers from (itself implied).
FLOORS = {
    "formats": [],
    "store": ["formats"],
    "src/pg": ["formats"],
    "src/env": ["formats"],
    "src/files": ["formats"],
    "src/dbrestore": ["src/pg", "formats"],
    "src/supabase": ["src/env", "src/files", "store", "formats"],
    "src/cli": ["src/supabase", "src/dbrestore", "src/pg", "src/env",
                "src/files", "store", "formats"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

n = 0
failed = 0


def ok(good, what, detail=""):
    global n, failed
    n += 1
    if good:
        print("ok %d - %s" % (n, what))
    else:
        failed += 1
        print("not ok %d - %s" % (n, what))
        for line in detail.rstrip().splitlines():
            print("#   " + line)


def sources(src):
    out = []
    for folder in FLOORS:
        d = os.path.join(src, folder)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                out.append(folder + "/" + name)
    return out


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, onstack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        onstack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in onstack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                onstack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else \
        os.environ.get("VAULT_SRCDIR", os.path.dirname(here))
    build = sys.argv[2] if len(sys.argv) > 2 else \
        os.environ.get("VAULT_BUILDDIR", src)

    files = sources(src)
    where = {}
    for f in files:
        if f.endswith(".h"):
            where.setdefault(os.path.basename(f), []).append(f)
    dup = {h: fs for h, fs in where.items() if len(fs) > 1}
    ok(not dup, "header names are unique across the tree",
       "\n".join("%s: %s" % (h, ", ".join(fs)) for h, fs in dup.items()))

    # 1. floors
    bad = []
    hgraph = {}
    for f in files:
        folder = os.path.dirname(f)
        allowed = set(FLOORS[folder]) | {folder}
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            text = fh.read()
        for inc in INCLUDE.findall(text):
            target = where.get(os.path.basename(inc))
            if not target:
                bad.append("%s: includes \"%s\", which is no header of "
                           "the tree" % (f, inc))
                continue
            t = target[0]
            if os.path.dirname(t) not in allowed:
                bad.append("%s includes %s: %s may not use %s" %
                           (f, t, folder, os.path.dirname(t)))
            if f.endswith(".h"):
                hgraph.setdefault(f, set()).add(t)
    ok(not bad, "every include stays on its floor (doc/design.md)",
       "\n".join(bad))

    # 2. sizes
    big = []
    roots = [os.path.join(src, d) for d in ("formats", "store", "src",
                                            "tests", "bench")]
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for name in names:
                if not name.endswith(".c"):
                    continue
                p = os.path.join(dirpath, name)
                with open(p, encoding="utf-8", errors="replace") as fh:
                    lines = sum(1 for _ in fh)
                if lines > MAX_LINES:
                    big.append("%s: %d lines" % (os.path.relpath(p, src),
                                                 lines))
    ok(not big, "no .c file is over %d lines" % MAX_LINES, "\n".join(big))

    # 3a. header cycles
    found = cycles(hgraph)
    ok(not found, "no include cycle between headers",
       "\n".join(" -> ".join(c) for c in found))

    # 3b. object cycles, from the symbols each compiled file defines and uses
    objs = {}
    for f in files:
        if not f.endswith(".c"):
            continue
        o = os.path.join(build, f[:-2] + ".o")
        if os.path.exists(o):
            objs[f] = o
    if len(objs) < len([f for f in files if f.endswith(".c")]):
        missing = sorted(set(f for f in files if f.endswith(".c")) -
                         set(objs))
        ok(False, "every source file is compiled in %s" % build,
           "no object for: " + ", ".join(missing))
        print("1..%d" % n)
        return 1
    defined, used = {}, {}
    for f, o in objs.items():
        out = subprocess.run(["nm", "-P", o], capture_output=True,
                             text=True, check=True).stdout
        used[f] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            sym, kind = parts[0], parts[1]
            if kind == "U":
                used[f].add(sym)
            elif kind in "TDBRCVW":
                defined.setdefault(sym, f)
    ograph = {}
    for f in objs:
        for sym in used[f]:
            t = defined.get(sym)
            if t and t != f:
                ograph.setdefault(f, set()).add(t)
    found = cycles(ograph)
    detail = []
    for comp in found:
        detail.append("cycle: " + ", ".join(comp))
        for a in comp:
            for b in comp:
                if b in ograph.get(a, ()):
                    syms = sorted(s for s in used[a] if defined.get(s) == b)
                    detail.append("  %s -> %s: %s" % (a, b, ", ".join(syms)))
    ok(not found, "no cycle between compiled files", "\n".join(detail))
    ok(all(ograph.get(f, set()) <= {g for g in objs
                                     if os.path.dirname(g) in
                                     set(FLOORS[os.path.dirname(f)]) |
                                     {os.path.dirname(f)}}
           for f in objs),
       "every compiled file calls only its own and lower floors",
       "\n".join("%s -> %s" % (f, g) for f in sorted(objs)
                 for g in sorted(ograph.get(f, ()))
                 if os.path.dirname(g) not in
                 set(FLOORS[os.path.dirname(f)]) | {os.path.dirname(f)}))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
