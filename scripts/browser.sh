#!/usr/bin/env bash
# Make sure Debian's Chromium and ChromeDriver are there for the browser tests: install them
# with apt-get when missing and running as root, else say what to install.
set -euo pipefail
. "$(dirname "$0")/apt_install.sh"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
[ ${#missing[@]} -eq 0 ] && exit 0
apt_install browser "${missing[@]}"
