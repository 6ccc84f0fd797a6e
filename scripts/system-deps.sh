#!/usr/bin/env bash
# Installs the Debian packages the test suite and benchmarks use: chromium (panel browser
# tests, driven by Playwright with executable_path=/usr/bin/chromium), wrk (HTTP load) and
# openssh-server (the storage tests' SFTP server: an sshd each test run starts on loopback).
# Does nothing when they are present; skips quietly when not root or not on Debian, where
# the tests that need them skip (and fail under CI=true).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing ${missing[*]} (install them with apt-get as root)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
