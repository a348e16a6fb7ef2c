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
# The tools run in ROUNDS interleaved rounds (default 5: sheen, ffmpeg,
# matchering, sheen, ...), so a host that speeds up or slows down during
# the run affects them alike. Prints per tool the median and the fastest
# wall time, the median CPU time, the largest peak RSS (GNU time), the ratio
# of medians peer/sheen, and the result's integrated loudness and true peak
# as measured by ffmpeg ebur128; and the load average and a host index
# (lib.sh host_index) before and after.
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

ROUNDS="${ROUNDS:-5}"
have_mg=0
if python3 -c "import matchering" 2>/dev/null; then
  have_mg=1
  cat >"$WORK/mg.py" <<'PY'
import sys
import matchering as mg
mg.log(lambda *a: None)
mg.process(target=sys.argv[1], reference=sys.argv[2], results=[mg.pcm24(sys.argv[3])])
PY
fi

echo "before: load $(cut -d' ' -f1-3 /proc/loadavg), host index $(host_index) s"
declare -a s_w s_c s_r f_w f_c f_r m_w m_c m_r
# round -1 warms up (not counted)
for ((ROUND = -1; ROUND < ROUNDS; ROUND++)); do
  timed s "$SHEEN" master "$IN" -o "$WORK/sheen.wav" --target spotify
  timed f bash -c 'ffmpeg_two_pass "$0" "$1"' "$IN" "$WORK/ffmpeg.wav"
  if [ "$have_mg" = 1 ]; then
    timed m python3 "$WORK/mg.py" "$IN" "$REF" "$WORK/matchering.wav"
  fi
done
echo "after:  load $(cut -d' ' -f1-3 /proc/loadavg), host index $(host_index) s"

s_med=$(median "${s_w[@]}")
printf '%-11s %10s %9s %8s %9s %12s %8s %8s\n' tool median_s fastest_s cpu_s rss_MB ratio_vs_sheen I_LUFS TP_dBTP
row() { # name out walls... (uses the caller's cpu and rss arrays by name)
  local name=$1 out=$2 cpu=$3 rss=$4
  local -n w=$5 c=$cpu rs=$rss
  local med li lp
  med=$(median "${w[@]}")
  read -r li lp <<<"$(ffmpeg_loudness "$out")"
  printf '%-11s %10s %9s %8s %9s %12.1f %8s %8s\n' "$name" "$med" "$(minimum "${w[@]}")" \
    "$(median "${c[@]}")" "$(maximum "${rs[@]}")" "$(echo "$med / $s_med" | bc -l)" "$li" "$lp"
}
row sheen "$WORK/sheen.wav" s_c s_r s_w
row ffmpeg "$WORK/ffmpeg.wav" f_c f_r f_w
if [ "$have_mg" = 1 ]; then
  row matchering "$WORK/matchering.wav" m_c m_r m_w
  echo "(matchering matches the reference's loudness, not -14 LUFS)"
else
  echo "matchering: SKIPPED (pip install matchering)"
fi
echo "($ROUNDS interleaved rounds; ratio = peer median / sheen median)"
