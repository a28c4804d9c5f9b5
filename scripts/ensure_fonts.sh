#!/bin/sh
# Install Debian's fonts-noto-cjk when no Chinese font is installed: `churn report --lang zh` and
# `churn explain --lang zh` draw Chinese titles and labels, which render as empty boxes without
# one (tests/e2e/test_report_zh.py checks). The test suite itself never installs anything.
# Needs root (or sudo).
set -eu
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family)" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    SUDO=
fi
echo "ensure_fonts: no Chinese font found (fc-list :lang=zh); installing Debian's fonts-noto-cjk" >&2
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends fontconfig fonts-noto-cjk
