#!/usr/bin/env bash
# Mastering on the whole public corpus, verified by an independent meter
# (issue "Mastering", must-show 2): every mix and variant of the corpus is
# mastered to spotify, apple, ebu-r128 and cd; ffmpeg's `ebur128=peak=true`
# measures each master (per-frame metadata, three decimals: the last
# lavfi.r128.I and the largest lavfi.r128.true_peak, a linear factor shown
# in dBTP). PASS when
# |I - target| <= 0.1 LU and true peak <= the ceiling.
#
#   bench/master_corpus_ffmpeg.sh CORPUS_DIR [WORK_DIR]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CORPUS="${1:?usage: master_corpus_ffmpeg.sh CORPUS_DIR [WORK_DIR]}"
WORK="${2:-/tmp/sheen-master-corpus}"
mkdir -p "$WORK"

targets="spotify:-14:-1 apple:-16:-1 ebu-r128:-23:-1 cd:-9:-0.3"
pass=0; fail=0
printf '%-44s %-9s %9s %9s %9s %s\n' file target I_ffmpeg err_LU TP_dBTP verdict
while IFS= read -r f; do
  name=$(basename "${f%.*}")
  for t in $targets; do
    IFS=: read -r tn tl tc <<<"$t"
    out="$WORK/$name.$tn.wav"
    "$SHEEN" master "$f" -o "$out" --target "$tn" >/dev/null
    read -r i tp <<<"$(ffmpeg_loudness_fine "$out")"
    err=$(echo "$i - ($tl)" | bc -l)
    ok=$(echo "define abs(x){if(x<0)return -x;return x}; abs($err) <= 0.1 && $tp <= $tc" | bc -l)
    if [ "$ok" = 1 ]; then v=PASS; pass=$((pass+1)); else v=FAIL; fail=$((fail+1)); fi
    printf '%-44s %-9s %9s %9.3f %9s %s\n' "${f#"$CORPUS"/}" "$tn" "$i" "$err" "$tp" "$v"
    rm -f "$out"
  done
done < <(find "$CORPUS/mixes" "$CORPUS/variants" -type f \( -name '*.wav' -o -name '*.flac' -o -name '*.mp3' \) | sort)
echo "$pass passed, $fail failed"
