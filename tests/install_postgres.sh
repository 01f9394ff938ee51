#!/usr/bin/env bash
# The scale-out test runs the Prefect server on PostgreSQL, started from a temporary
# data folder by tests/services.py. Install Debian's package when it is missing.
set -euo pipefail
if command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    echo "PostgreSQL is not installed and this is not root: its test will skip" >&2
    exit 0
fi
echo "installing PostgreSQL for the scale-out test (apt-get)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
