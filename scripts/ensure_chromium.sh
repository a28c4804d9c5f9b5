#!/bin/sh
# Install Debian's chromium when it is missing: tests/e2e/test_report.py opens the HTML report
# in headless Chromium, and the test suite itself never installs anything. Needs root (or sudo).
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    SUDO=
fi
echo "ensure_chromium: /usr/bin/chromium is missing; installing Debian's chromium" >&2
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
