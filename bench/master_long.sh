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
. "$(dirname "$0")/lib.sh"
WORK="${1:-/tmp/sheen-bench-long}"
MIN="${2:-60}"
mkdir -p "$WORK"

make_input() { # seconds out
  [ -f "$2" ] || ffmpeg -nostdin -v error -stream_loop -1 -i "$EX/wes_loyalists.flac" -t "$1" \
    -ar 48000 -ac 2 -c:a pcm_s24le "$2"
}

printf '%-10s %9s %9s %10s %10s\n' input seconds rss_MB I_LUFS TP_dBTP
for secs in 60 $((MIN * 60)); do
  in="$WORK/in_${secs}s.wav"
  out="$WORK/out_${secs}s.wav"
  make_input "$secs" "$in"
  rm -f "$out"
  read -r t m _ <<<"$(measure "$SHEEN" master "$in" -o "$out" --target spotify)"
  read -r i p <<<"$(ffmpeg_loudness "$out")"
  printf '%-10s %9s %9s %10s %10s\n' "$((secs / 60)) min" "$t" "$m" "$i" "$p"
  rm -f "$out"
done
