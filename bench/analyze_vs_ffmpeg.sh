#!/usr/bin/env bash
# Benchmark: `sheen analyze` against `ffmpeg -af ebur128=peak=true` on the
# same files, in one run (issue "Foundation", must-show 4).
#
#   bench/analyze_vs_ffmpeg.sh [WORK_DIR]
#
# Makes its inputs from ../shared/excerpts (no corpus needed): a 60 s stereo
# 48 kHz 24-bit WAV and a 2-hour stereo 48 kHz 24-bit WAV (~2 GB, in WORK_DIR,
# default /tmp/sheen-bench). Prints wall time, the ratio ffmpeg/sheen and the
# peak RSS of each tool (GNU time). Needs ffmpeg and /usr/bin/time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
WORK="${1:-/tmp/sheen-bench}"
mkdir -p "$WORK"

make_input() { # seconds out
  [ -f "$2" ] || ffmpeg -nostdin -v error -stream_loop -1 -i "$EX/fdr_hellfortresstwo.flac" \
    -t "$1" -c:a pcm_s24le "$2"
}
make_input 60 "$WORK/in_60s.wav"
make_input 7200 "$WORK/in_2h.wav"

printf '%-10s %-8s %10s %10s %10s %10s %8s\n' input tool seconds rss_MB x_realtime "" ""
for f in in_60s in_2h; do
  dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$WORK/$f.wav")
  read -r s_t s_m _ <<<"$(measure "$SHEEN" analyze --json "$WORK/$f.wav")"
  read -r f_t f_m _ <<<"$(measure ffmpeg -nostdin -nostats -i "$WORK/$f.wav" -af ebur128=peak=true -f null -)"
  printf '%-10s %-8s %10s %10s %10.0f\n' "$f" sheen "$s_t" "$s_m" "$(echo "$dur / $s_t" | bc -l)"
  printf '%-10s %-8s %10s %10s %10.0f\n' "$f" ffmpeg "$f_t" "$f_m" "$(echo "$dur / $f_t" | bc -l)"
  printf '%-10s speed ratio ffmpeg/sheen: %.2f\n' "$f" "$(echo "$f_t / $s_t" | bc -l)"
done
