#!/usr/bin/env bash
# The layering rules, checked on every include (CI runs this beside the
# format check; the build enforces the same for libpq and RESTinio, whose
# include paths and compile settings only their own targets get):
#   - RESTinio only in the HTTP adapter (http/server.cpp, http/multipart.cpp)
#   - database drivers only in their backends (store/sqlite/, store/postgres/, store/redis/)
#   - http/ only from http/, a capability's route files (<capability>/*routes.{h,cpp}) and app/
#   - app/ from nowhere but main.cpp (tests and benchmarks may compose)
#   - engines/ never include store/ or http/
#   - store/ never includes a capability (auth, quota, search, design, vision, api, http, app)
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
rule() {  # rule NAME INCLUDE-REGEX ALLOWED-PATH-REGEX [FILES...]
  local name=$1 pattern=$2 allowed=$3
  shift 3
  local hits
  hits=$(grep -HnE "^#include [<\"]($pattern)" "$@" 2>/dev/null | grep -vE "^($allowed):" || true)
  if [[ -n "$hits" ]]; then
    echo "layering: $name" >&2
    echo "$hits" | sed 's/^/  /' >&2
    bad=1
  fi
}
mapfile -t src < <(git ls-files --cached --others --exclude-standard 'src/*.cpp' 'src/*.h' | grep -vE '_test\.cpp$|_testing\.h$')
rule "RESTinio outside the HTTP adapter" 'restinio/' 'src/http/server\.cpp|src/http/multipart\.cpp' "${src[@]}"
rule "SQLite outside store/sqlite" 'sqlite3\.h' 'src/store/sqlite/[^:]*' "${src[@]}"
rule "libpq outside store/postgres" 'libpq-fe\.h|pqxx' 'src/store/postgres/[^:]*' "${src[@]}"
rule "hiredis outside store/redis" 'hiredis/' 'src/store/redis/[^:]*' "${src[@]}"
rule "http/ outside routes and composition" 'http/' 'src/(http|app)/[^:]*|src/[a-z_]+/[a-z_]*routes\.(cpp|h)|src/main\.cpp' "${src[@]}"
rule "app/ outside main.cpp" 'app/' 'src/app/[^:]*|src/main\.cpp' "${src[@]}"
rule "an engine includes storage or HTTP" '(store|http)/' '' $(printf '%s\n' "${src[@]}" | grep '^src/engines/')
rule "storage includes a capability" '(auth|quota|search|design|vision|http|app)/' '' $(printf '%s\n' "${src[@]}" | grep '^src/store/')
if ((bad)); then exit 1; fi
echo "layers: ${#src[@]} files keep the layering rules"
