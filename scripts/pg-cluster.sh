#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: initdb in a temporary
# folder, a free loopback port, fsync off (nothing here must survive a power
# cut), run as the unprivileged `postgres` user when we are root.
#   scripts/pg-cluster.sh start DIR [bench]   prints the URL of an empty database;
#     "bench" keeps fsync on (commits are not flushed one by one: the same
#     promise as SQLite's WAL with synchronous=NORMAL, which atelier uses)
#   scripts/pg-cluster.sh stop DIR    stops it and removes DIR
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$bin/initdb" ]] || { echo "PostgreSQL server binaries not found" >&2; exit 1; }
as=()
if [[ $(id -u) == 0 ]]; then as=(runuser -u postgres --); fi

case "$cmd" in
start)
  mkdir -p "$dir"
  [[ $(id -u) == 0 ]] && chown postgres "$dir"
  settings="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [[ "${3:-}" == bench ]] && settings="-c synchronous_commit=off"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U atelier --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 $settings -c max_connections=400" \
    >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U atelier atelier
  echo "postgresql://atelier@127.0.0.1:$port/atelier"
  ;;
stop)
  if [[ -d "$dir/data" ]]; then
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
