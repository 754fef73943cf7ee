#!/usr/bin/env bash
# The layering rules, checked on every include (CI runs this beside the
# format check; the build enforces the same for libpq and RESTinio, whose
# include paths and compile settings only their own targets get):
#   - RESTinio only in the HTTP adapter (http/server.cpp, server_streaming.cpp, server_internal.h, multipart.cpp)
#   - database drivers only in their backends (store/sqlite/, store/postgres/, store/redis/)
#   - http/ only from http/, a capability's route files (<capability>/*routes.{h,cpp}) and app/
#   - app/ from nowhere but main.cpp (tests and benchmarks may compose)
#   - engines/ never include store/ or http/
#   - store/ and identity/ never include a capability, http/ or app/; the
#     capabilities are the folders that hold a module.cpp (read from the tree);
#     quota/, which includes store/, is held to it by the cycle check
#   - the folders' include graph has no cycle (a folder may include another
#     only if that one, through any path, never includes it back)
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
rule() {  # rule NAME INCLUDE-REGEX ALLOWED-PATH-REGEX [FILES...]
  local name=$1 pattern=$2 allowed=$3
  shift 3
  local hits
  hits=$(grep -HnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pattern)" "$@" 2>/dev/null | grep -vE "^($allowed):" || true)
  if [[ -n "$hits" ]]; then
    echo "layering: $name" >&2
    echo "$hits" | sed 's/^/  /' >&2
    bad=1
  fi
}
mapfile -t src < <(git ls-files --cached --others --exclude-standard 'src/*.cpp' 'src/*.h' | grep -vE '_test\.cpp$|_testing\.h$')
rule "RESTinio outside the HTTP adapter" 'restinio/' 'src/http/server(_streaming)?\.cpp|src/http/server_internal\.h|src/http/multipart\.cpp' "${src[@]}"
rule "SQLite outside store/sqlite" 'sqlite3\.h' 'src/store/sqlite/[^:]*' "${src[@]}"
rule "libpq outside store/postgres" 'libpq-fe\.h|pqxx' 'src/store/postgres/[^:]*' "${src[@]}"
rule "hiredis outside store/redis" 'hiredis/' 'src/store/redis/[^:]*' "${src[@]}"
rule "http/ outside routes and composition" 'http/' 'src/(http|app)/[^:]*|src/[a-z_]+/[a-z_]*routes\.(cpp|h)|src/main\.cpp' "${src[@]}"
rule "app/ outside main.cpp" 'app/' 'src/app/[^:]*|src/main\.cpp' "${src[@]}"
rule "an engine includes storage or HTTP" '(store|http)/' '' $(printf '%s\n' "${src[@]}" | grep '^src/engines/')
capabilities=$(for m in src/*/module.cpp; do basename "$(dirname "$m")"; done | paste -sd '|')
rule "storage includes a capability" "($capabilities|http|app)/" '' $(printf '%s\n' "${src[@]}" | grep '^src/store/')
rule "identity includes a capability" "($capabilities|http|app|platform)/" '' $(printf '%s\n' "${src[@]}" | grep '^src/identity/')
# Cycles between folders: Tarjan's strongly connected components over the
# include graph (a folder's files -> the folders their includes name).
cycles=$(printf '%s\n' "${src[@]}" | python3 -c '
import os, re, sys
edges = {}
for f in sys.stdin.read().split():
    parts = f.split("/")
    if len(parts) < 3:
        continue
    a = parts[1]
    for line in open(f, encoding="utf8", errors="replace"):
        m = re.match(r"\s*#\s*include\s*[<\"]([a-z_]+)/", line)
        if m and m.group(1) != a and os.path.isdir("src/" + m.group(1)):
            edges.setdefault(a, set()).add(m.group(1))
index, low, stack, on, out = {}, {}, [], set(), []
def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v); on.add(v)
    for w in sorted(edges.get(v, ())):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            cyc = sorted(comp)
            why = ["%s -> %s" % (x, y) for x in cyc for y in sorted(edges.get(x, ())) if y in comp]
            out.append(" ".join(cyc) + " (" + ", ".join(why) + ")")
for v in sorted(set(edges) | {w for s in edges.values() for w in s}):
    if v not in index:
        visit(v)
print("\n".join(out))
')
if [[ -n "$cycles" ]]; then
  echo "layering: folders that include each other (a cycle)" >&2
  echo "$cycles" | sed 's/^/  /' >&2
  bad=1
fi
if ((bad)); then exit 1; fi
echo "layers: ${#src[@]} files keep the layering rules"
