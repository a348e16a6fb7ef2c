#!/usr/bin/env bash
# Regenerates SheenSans.ttf: DejaVu Sans (Debian package fonts-dejavu-core)
# cut down to the characters sheen's reports use, so every report can embed
# it (the license, LICENSE-DejaVu.txt, allows modified copies).
# Needs: apt-get install fonts-dejavu-core; pip install fonttools.
set -euo pipefail
cd "$(dirname "$0")"
src=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
pyftsubset "$src" \
  --unicodes="U+0020-007E,U+00A0-017F,U+0370-03FF,U+2000-206F,U+2070-209F,U+2150-218F,U+2190-21FF,U+2200-22FF,U+25A0-25FF,U+2713-2718" \
  --layout-features='kern,liga' --no-hinting --desubroutinize \
  --name-IDs='*' --output-file=SheenSans.ttf
cp /usr/share/doc/fonts-dejavu-core/copyright LICENSE-DejaVu.txt
ls -l SheenSans.ttf
