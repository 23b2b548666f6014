#!/usr/bin/env bash
# Makes sure redis-server and redis-cli are installed: the tests, the demo
# and the chaos and load runs start their own Redis processes on free ports,
# and the cluster tests build a Redis Cluster with redis-cli. When one is
# missing it installs Debian's redis-server and redis-tools as root (or through sudo without
# a password); otherwise it says what to install and fails.
#
# With --optional (the demo, which falls back to an embedded Redis) it says
# what to install and succeeds.
set -euo pipefail

optional=false
if [ "${1:-}" = --optional ]; then
  optional=true
fi

# The demo (--optional) needs redis-server alone.
have_redis() { command -v redis-server >/dev/null 2>&1 && { $optional || command -v redis-cli >/dev/null 2>&1; }; }

if have_redis; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    as_root=(unavailable)
  fi
fi

if [ "${as_root[0]:-}" != unavailable ] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server or redis-cli not found: installing Debian's redis-server and redis-tools" >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
  if have_redis; then
    exit 0
  fi
  echo "redis-server or redis-cli still not found after apt-get install redis-server redis-tools" >&2
  exit 1
fi

if $optional; then
  echo "redis-server or redis-cli not found: going on without it (install it for a real Redis: Debian/Ubuntu: sudo apt-get install redis-server redis-tools; macOS: brew install redis)" >&2
  exit 0
fi
echo "redis-server or redis-cli not found: install them (Debian/Ubuntu: sudo apt-get install redis-server redis-tools; macOS: brew install redis) and run again" >&2
exit 1
