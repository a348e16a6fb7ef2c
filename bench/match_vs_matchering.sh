#!/usr/bin/env bash
# Benchmark: `sheen match` (reference matching, issue 6) against Matchering 2
# on the same pairs, in one run.
#
#   bench/match_vs_matchering.sh [WORK_DIR]
#
# Pairs: each of the 8 mixes in /work/corpus/mixes/48k with the next one (in
# name order, wrapping) as the reference. sheen runs twice per pair: with
# the default EQ cap (+/-15 dB around the curve's centre; the pass/fail line
# judges this one) and, for comparison, with `--cap $STRONG_CAP` (default
# 24 dB; Matchering's curve has no cap at all). For each output, prints the mean
# absolute difference of loudness-normalised 1/3-octave band levels to the
# reference over 40 Hz-16 kHz (bench/match_metrics.py; all figures measured
# by `sheen analyze`, the same meter for both tools), the integrated loudness
# minus the reference's and the true peak. Then speed on a 60 s excerpt
# (wall time, both tools, median of ROUNDS interleaved rounds, default 5)
# and peak RSS / time of `sheen match` on the 30-minute variant (GNU time). Installs Matchering into a venv in WORK_DIR
# with pip when missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
WORK="${1:-/tmp/sheen-match-bench}"
CORPUS="${CORPUS:-/work/corpus}"
mkdir -p "$WORK"

PY="${MATCHERING_PY:-$WORK/venv/bin/python}"
if ! "$PY" -c 'import matchering' 2>/dev/null; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q matchering
  PY="$WORK/venv/bin/python"
fi

mapfile -t MIXES < <(ls "$CORPUS"/mixes/48k/*.wav | sort)
n=${#MIXES[@]}
STRONG_CAP="${STRONG_CAP:-24}"
worse=0
printf '%-22s %-22s %9s %9s %9s %8s %8s %8s %8s\n' input reference sheen_dB sheen24_dB mg_dB sheen_dLU mg_dLU sheen_TP mg_TP
for ((i = 0; i < n; i++)); do
  in="${MIXES[$i]}"
  ref="${MIXES[$(((i + 1) % n))]}"
  a=$(basename "$in" .wav)
  b=$(basename "$ref" .wav)
  s_out="$WORK/$a.sheen.wav"
  m_out="$WORK/$a.matchering.wav"
  d_out="$WORK/$a.sheen-default.wav"
  rm -f "$s_out" "$m_out" "$d_out"
  "$SHEEN" match "$in" --reference "$ref" -o "$d_out" --report "$WORK/$a.default.report.json" >/dev/null
  "$SHEEN" match "$in" --reference "$ref" --cap "$STRONG_CAP" -o "$s_out" --report "$WORK/$a.report.json" >/dev/null
  "$PY" "$HERE/matchering_run.py" "$in" "$ref" "$m_out"
  "$SHEEN" analyze --json "$ref" "$s_out" "$m_out" >"$WORK/$a.analysis.json"
  "$SHEEN" analyze --json "$ref" "$d_out" "$m_out" >"$WORK/$a.default.analysis.json"
  eval "$(python3 "$HERE/match_metrics.py" "$WORK/$a.default.analysis.json")"
  d_mad=$sheen_mad_db d_dlu=$sheen_dlufs d_tp=$sheen_tp
  eval "$(python3 "$HERE/match_metrics.py" "$WORK/$a.analysis.json")"
  printf '%-22s %-22s %9.3f %9.3f %9.3f %8.3f %8.3f %8.3f %8.3f\n' "$a" "$b" "$d_mad" \
    "$sheen_mad_db" "$matchering_mad_db" "$d_dlu" "$matchering_dlufs" "$d_tp" "$matchering_tp"
  awk -v s="$d_mad" -v m="$matchering_mad_db" -v d="$d_dlu" -v t="$d_tp" \
    'BEGIN { exit !(s < m && d <= 0.5 && d >= -0.5 && t <= -1.0) }' || worse=$((worse + 1))
done
echo "(sheen_dB: default cap, judged; sheen24_dB: --cap $STRONG_CAP; dLU and TP of the default)"
echo "pairs failing (sheen not better than Matchering, or |dLU| > 0.5, or TP > -1 dBTP): $worse of $n"

# speed on 60 s
in60="$WORK/in_60s.wav"
ref60="$WORK/ref_60s.wav"
[ -f "$in60" ] || ffmpeg -nostdin -v error -ss 30 -t 60 -i "${MIXES[0]}" -c:a pcm_s24le "$in60"
[ -f "$ref60" ] || ffmpeg -nostdin -v error -ss 30 -t 60 -i "${MIXES[1]}" -c:a pcm_s24le "$ref60"
rm -f "$WORK/o60.sheen.wav" "$WORK/o60.mg.wav"
ROUNDS="${ROUNDS:-5}"
declare -a s_w s_r s_c m_w m_r m_c
echo "speed: load $(cut -d' ' -f1-3 /proc/loadavg), host index $(host_index) s"
# round -1 warms up (not counted)
for ((ROUND = -1; ROUND < ROUNDS; ROUND++)); do
  timed s "$SHEEN" match "$in60" --reference "$ref60" -o "$WORK/o60.sheen.wav"
  timed m "$PY" "$HERE/matchering_run.py" "$in60" "$ref60" "$WORK/o60.mg.wav"
done
s_t=$(median "${s_w[@]}")
m_t=$(median "${m_w[@]}")
printf '60 s excerpt, median of %d interleaved rounds: sheen %.3f s (fastest %.3f, %.0f MB), matchering %.2f s (fastest %.2f, %.0f MB), matchering/sheen = %.1fx\n' \
  "$ROUNDS" "$s_t" "$(minimum "${s_w[@]}")" "$(maximum "${s_r[@]}")" "$m_t" "$(minimum "${m_w[@]}")" \
  "$(maximum "${m_r[@]}")" "$(awk -v a="$m_t" -v b="$s_t" 'BEGIN{print a/b}')"

# 30 minutes
long="$CORPUS/variants/long_30min.wav"
if [ -f "$long" ]; then
  rm -f "$WORK/long.sheen.wav"
  read -r l_t l_m _ <<<"$(measure "$SHEEN" match "$long" --reference "${MIXES[1]}" -o "$WORK/long.sheen.wav")"
  printf '30 min input: sheen match %.1f s, peak RSS %.0f MB\n' "$l_t" "$l_m"
  rm -f "$WORK/long.sheen.wav"
fi
