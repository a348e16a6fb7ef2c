#!/usr/bin/env bash
# Benchmark: `sheen master` on a 60-minute stereo input in bounded memory
# (issue 4, must-show 3). Not run in CI (too slow).
#
#   bench/master_long.sh [WORK_DIR] [MINUTES]
#
# Makes a MINUTES-long (default 60) 48 kHz 24-bit stereo WAV by looping an
# excerpt from ../shared/excerpts with ffmpeg, masters it to spotify and
# prints wall time and peak RSS (GNU time -v), plus the result's integrated
# loudness and true peak as measured by ffmpeg ebur128. The same is done
# for a 1-minute cut of the same material, so the two peak RSS figures show
# whether memory grows with length. Needs ffmpeg and /usr/bin/time.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
WORK="${1:-/tmp/sheen-bench-long}"
MIN="${2:-60}"
mkdir -p "$WORK"
EX="$ROOT/../shared/excerpts"

(cd "$ROOT" && cargo build --release -q -p sheen-cli)
SHEEN="$ROOT/target/release/sheen"

make_input() { # seconds out
  [ -f "$2" ] || ffmpeg -nostdin -v error -stream_loop -1 -i "$EX/wes_loyalists.flac" -t "$1" \
    -ar 48000 -ac 2 -c:a pcm_s24le "$2"
}

measure() { # cmd... -> "seconds rss_MB"
  local log="$WORK/time.log"
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { echo "FAILED"; tail -n 5 "$log" >&2; return 1; }
  local secs rss
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$log")
  echo "$secs $rss"
}

loudness() { # file -> "I TP"
  ffmpeg -nostdin -nostats -hide_banner -i "$1" -af ebur128=peak=true -f null - 2>&1 |
    awk '/Summary:/ {s=1} s && /I:/ {i=$2} s && /Peak:/ {p=$2} END {print i, p}'
}

printf '%-10s %9s %9s %10s %10s\n' input seconds rss_MB I_LUFS TP_dBTP
for secs in 60 $((MIN * 60)); do
  in="$WORK/in_${secs}s.wav"
  out="$WORK/out_${secs}s.wav"
  make_input "$secs" "$in"
  rm -f "$out"
  read -r t m <<<"$(measure "$SHEEN" master "$in" -o "$out" --target spotify)"
  read -r i p <<<"$(loudness "$out")"
  printf '%-10s %9s %9s %10s %10s\n' "$((secs / 60)) min" "$t" "$m" "$i" "$p"
  rm -f "$out"
done
