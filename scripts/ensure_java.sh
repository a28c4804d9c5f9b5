#!/bin/sh
# Install Debian's Java 17 runtime when `java` is missing: the Spark engine and Spark scoring
# (tests/features/test_spark_engine.py, tests/scoring/test_spark_scoring.py) start a local Spark,
# which runs on the JVM, and the test suite itself never installs anything. Needs root (or sudo).
set -eu
if command -v java >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    SUDO=
fi
echo "ensure_java: java is missing; installing Debian's openjdk-17-jre-headless" >&2
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y openjdk-17-jre-headless
