#!/usr/bin/env bash
# Install what tests/container needs on a fresh Debian machine, as root: the Docker engine
# (dockerd, containerd, runc), Debian's docker-compose, and debootstrap with the archive keyring
# for the local base image. Idempotent and quiet: installs only what is missing, prints only errors.
# The tests start their own dockerd; nothing here starts a daemon.
set -euo pipefail

packages=(docker.io docker-compose debootstrap debian-archive-keyring)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query --show --showformat='${Status}' "$package" 2>/dev/null \
            | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    # apt's chatter (debconf notes included) is shown only when something fails.
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
            >"$log" 2>&1; then
        cat "$log" >&2
        echo "docker-setup: installing ${missing[*]} failed" >&2
        exit 1
    fi
fi
