#!/usr/bin/env bash
# Regenerates docs/report.png: runs `sheen demo`, then renders the demo's
# HTML report (report.html: the session mix mastered to Spotify) with
# headless Chromium. Needs: apt-get install chromium.
# SHEEN=path/to/sheen uses that binary instead of `cargo run --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/report-screenshot
rm -rf "$out"
if [ -n "${SHEEN:-}" ]; then
  "$SHEEN" demo --out "$out" >/dev/null
else
  cargo run --release --locked -q -p sheen-cli -- demo --out "$out" >/dev/null
fi
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --force-device-scale-factor=1 --window-size=1200,2400 \
  --screenshot="$PWD/docs/report.png" "file://$PWD/$out/report.html" 2>/dev/null
ls -l docs/report.png
