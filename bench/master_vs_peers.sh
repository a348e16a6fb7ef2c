#!/usr/bin/env bash
# Benchmark: `sheen master` against peers on the same 60 s input (issue 4,
# part E). Not run in CI.
#
#   bench/master_vs_peers.sh [WORK_DIR]
#
# Tools (each to Spotify's -14 LUFS / -1 dBTP, 48 kHz 24-bit WAV out):
#   sheen      sheen master IN -o OUT --target spotify (analyse, plan with a
#              measured gain search, render, verify)
#   ffmpeg     two-pass loudnorm (pass 1 measures, pass 2 linear=true with
#              the measured values) followed by alimiter at -1 dBFS
#   matchering Matchering 2 (pip install matchering), reference = another
#              excerpt looped to 60 s
# Prints wall time, peak RSS (GNU time -v), the ratio peer/sheen, and the
# result's integrated loudness and true peak as measured by ffmpeg ebur128.
# Makes its input from ../shared/excerpts. Needs ffmpeg, /usr/bin/time,
# python3 with matchering (skipped with a message if missing).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
WORK="${1:-/tmp/sheen-bench-master}"
mkdir -p "$WORK"

loop60() { # src out
  [ -f "$2" ] || ffmpeg -nostdin -v error -stream_loop -1 -i "$1" -t 60 -c:a pcm_s24le "$2"
}
IN="$WORK/in_60s.wav"
REF="$WORK/ref_60s.wav"
loop60 "$EX/wes_loyalists.flac" "$IN"
loop60 "$EX/fdr_hellfortresstwo.flac" "$REF"

ffmpeg_two_pass() { # in out
  local j
  j=$(ffmpeg -nostdin -hide_banner -i "$1" -af loudnorm=I=-14:TP=-1:LRA=20:print_format=json -f null - 2>&1 |
    sed -n '/^{/,/^}/p')
  local mi mtp mlra mth off
  mi=$(echo "$j" | awk -F'"' '/"input_i"/ {print $4}')
  mtp=$(echo "$j" | awk -F'"' '/"input_tp"/ {print $4}')
  mlra=$(echo "$j" | awk -F'"' '/"input_lra"/ {print $4}')
  mth=$(echo "$j" | awk -F'"' '/"input_thresh"/ {print $4}')
  off=$(echo "$j" | awk -F'"' '/"target_offset"/ {print $4}')
  ffmpeg -nostdin -v error -y -i "$1" -af \
    "loudnorm=I=-14:TP=-1:LRA=20:measured_I=$mi:measured_TP=$mtp:measured_LRA=$mlra:measured_thresh=$mth:offset=$off:linear=true,alimiter=limit=0.891:level=false" \
    -ar 48000 -c:a pcm_s24le "$2"
}
export -f ffmpeg_two_pass

printf '%-11s %9s %9s %12s %10s %10s\n' tool seconds rss_MB ratio_vs_sheen I_LUFS TP_dBTP
read -r s_t s_m _ <<<"$(measure "$SHEEN" master "$IN" -o "$WORK/sheen.wav" --target spotify)"
read -r s_i s_p <<<"$(ffmpeg_loudness "$WORK/sheen.wav")"
printf '%-11s %9s %9s %12s %10s %10s\n' sheen "$s_t" "$s_m" 1.00 "$s_i" "$s_p"

read -r f_t f_m _ <<<"$(measure bash -c 'ffmpeg_two_pass "$0" "$1"' "$IN" "$WORK/ffmpeg.wav")"
read -r f_i f_p <<<"$(ffmpeg_loudness "$WORK/ffmpeg.wav")"
printf '%-11s %9s %9s %12.2f %10s %10s\n' ffmpeg "$f_t" "$f_m" "$(echo "$f_t / $s_t" | bc -l)" "$f_i" "$f_p"

if python3 -c "import matchering" 2>/dev/null; then
  cat >"$WORK/mg.py" <<'PY'
import sys
import matchering as mg
mg.log(lambda *a: None)
mg.process(target=sys.argv[1], reference=sys.argv[2], results=[mg.pcm24(sys.argv[3])])
PY
  read -r m_t m_m _ <<<"$(measure python3 "$WORK/mg.py" "$IN" "$REF" "$WORK/matchering.wav")"
  read -r m_i m_p <<<"$(ffmpeg_loudness "$WORK/matchering.wav")"
  printf '%-11s %9s %9s %12.2f %10s %10s\n' matchering "$m_t" "$m_m" "$(echo "$m_t / $s_t" | bc -l)" "$m_i" "$m_p"
  echo "(matchering matches the reference's loudness, not -14 LUFS)"
else
  echo "matchering: SKIPPED (pip install matchering)"
fi
