#!/usr/bin/env bash
# Headless Chromium for the page tests (tests/serve/test_serve_page.py): Debian's
# `chromium` package, because Playwright cannot download its own browsers
# here. Does nothing when /usr/bin/chromium exists. Needs root (CI runs as root).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_browser.sh: /usr/bin/chromium is missing; run as root (or: sudo apt-get install -y chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium
/usr/bin/chromium --version
