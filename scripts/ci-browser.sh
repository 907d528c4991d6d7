#!/usr/bin/env bash
# Install headless Chromium (Debian package) for the report's browser test, when it is missing.
# The test drives it with playwright-core (no browser download); without it the test is reported as skipped.
set -euo pipefail
CHROMIUM="${PARRY_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  echo "chromium present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
"$CHROMIUM" --version
