#!/bin/sh
# Runs an HTTP suite that needs the PostgreSQL cluster the test command
# starts: skipped (exit 77) without one, unless ATELIER_REQUIRE_POSTGRES=1
# (CI), where its absence fails the suite.
if [ -z "$ATELIER_TEST_POSTGRES_URL" ] && [ "$ATELIER_REQUIRE_POSTGRES" != 1 ]; then
  echo "skipped: no PostgreSQL server (ATELIER_TEST_POSTGRES_URL)"
  exit 77
fi
exec "$@"
