#!/usr/bin/env bash
# Installs a tool that `make test` needs from Debian's packages, once: Chromium for the
# dashboard's browser tests, redis-server 7 for the second run of the Redis-facing tests, and
# promtool (package prometheus) to check ops/prometheus/alerts.yml. Idempotent: does nothing
# when the binary is there. Needs root (or sudo) and Debian's package repositories.
#
#   scripts/install-debian.sh BINARY PACKAGE [PACKAGE...]
#
# Only the binaries are used: the suite starts its own servers. The packages' own services are
# not wanted (no Redis on 6379, no Prometheus on 9090), so they are kept from starting
# (policy-rc.d).
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: $0 BINARY PACKAGE [PACKAGE...]" >&2
    exit 2
fi
BINARY=$1
shift

if [ -x "$BINARY" ]; then
    echo "$BINARY already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-debian.sh: must run as root (or with sudo available) to install $*" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# Exit code 101 of policy-rc.d tells invoke-rc.d not to start a package's service.
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
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null

if [ ! -x "$BINARY" ]; then
    echo "install-debian.sh: $BINARY still missing after apt-get install $*" >&2
    exit 1
fi
echo "$BINARY installed"
