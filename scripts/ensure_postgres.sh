#!/bin/sh
# Install Debian's PostgreSQL server when it is missing: tests/e2e/test_database_sources.py starts a
# throwaway server with its initdb and pg_ctl, and the test suite itself never installs anything.
# Needs root (or sudo).
set -eu
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    SUDO=
fi
echo "ensure_postgres: no PostgreSQL server (initdb) found; installing Debian's postgresql" >&2
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y postgresql
