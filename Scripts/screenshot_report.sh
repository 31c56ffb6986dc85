#!/usr/bin/env bash
# Renders an HTML report in headless Chromium to a PNG, to check it as a person would.
#   Scripts/screenshot_report.sh REPORT.html OUT.png [WIDTHxHEIGHT]
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 REPORT.html OUT.png [WIDTHxHEIGHT]" >&2; exit 64; }
html="$(realpath "$1")"
png="$(realpath -m "$2")"
size="${3:-1200x2400}"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
  echo "installing chromium ..." >&2
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  browser="$(command -v chromium)"
fi
# --no-sandbox: Chromium refuses to run as root otherwise. The report needs no network and no JavaScript.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="${size/x/,}" \
  --screenshot="$png" "file://$html" >/dev/null 2>&1
echo "$png"
