"""The import graph of a Rust crate's sources, file by file, and its cycles.

Reads every `crate::a::b` and `super::x` path under the given source
directory (default `api/src`), resolves each to the file that defines the
longest matching module, and prints the strongly connected components with
more than one file (Tarjan). With a second argument it also prints the
edges inside the largest component. Unit-test modules are left out.

    python3 tools/import-graph/scc.py api/src [edges]
"""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else 'api/src'
files = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root)[:-3]
            parts = rel.split(os.sep)
            if parts[-1] == 'mod': parts = parts[:-1]
            if parts == ['lib'] or parts == ['main']: parts = []
            files[tuple(parts)] = p
def resolve(path):
    # longest prefix that is a module file
    for n in range(len(path), 0, -1):
        if tuple(path[:n]) in files: return tuple(path[:n])
    return None
edges = {m: set() for m in files}
for mod, p in files.items():
    src = open(p).read()
    src = re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*', '', src, flags=re.S)
    for m in re.finditer(r'crate::([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)(::\{([^}]*)\})?', src):
        base = m.group(1).split('::')
        targets = [base]
        if m.group(3):
            for item in m.group(3).split(','):
                item = item.strip().split(' as ')[0].split('::')
                if item and item[0] and item[0] != 'self' and item[0][0].islower():
                    targets.append(base + item)
        for t in targets:
            r = resolve(t)
            if r is not None and r != mod: edges[mod].add(r)
    for m in re.finditer(r'\bsuper::([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)', src):
        parent = list(mod[:-1]) if not p.endswith('mod.rs') else list(mod[:-1])
        t = parent + m.group(1).split('::')
        r = resolve(t)
        if r is not None and r != mod: edges[mod].add(r)
# tarjan
sys.setrecursionlimit(10000)
index = {}; low = {}; stack = []; on = set(); sccs = []; i = [0]
def sc(v):
    index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
for v in files:
    if v not in index: sc(v)
big = sorted([c for c in sccs if len(c) > 1], key=len, reverse=True)
print(f"{len(files)} files; cycles: {[len(c) for c in big]}")
for c in big:
    print(len(c), sorted('::'.join(x) or 'lib' for x in c))
if len(sys.argv) > 2:
    # print edges within the biggest SCC
    comp=set(big[0])
    for a in sorted(comp):
        outs=sorted('::'.join(b) for b in edges[a] if b in comp)
        print('::'.join(a),'->',', '.join(outs))
