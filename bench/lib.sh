# bench/lib.sh: the prologue and measurements shared by the bench scripts.
# Source it right after `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib.sh"
#
# Sets HERE (this folder), ROOT (the repository), EX (../shared/excerpts),
# builds the release binary and sets SHEEN to it.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
EX="$ROOT/../shared/excerpts"
(cd "$ROOT" && cargo build --release -q -p sheen-cli)
SHEEN="$ROOT/target/release/sheen"

# measure CMD... -> "seconds rss_MB cpu_s": wall time (s), peak resident
# memory (MB) and user + system CPU time (s) of CMD, by GNU time. CMD's
# output is discarded; if it fails, its last stderr lines are shown and
# measure returns 1.
measure() {
  local tf ef
  tf=$(mktemp)
  ef=$(mktemp)
  if ! /usr/bin/time -o "$tf" -f "%e %M %U %S" "$@" >/dev/null 2>"$ef"; then
    tail -n 5 "$ef" >&2
    rm -f "$tf" "$ef"
    return 1
  fi
  tail -n 1 "$tf" | awk '{printf "%.2f %.1f %.2f", $1, $2/1024, $3 + $4}'
  rm -f "$tf" "$ef"
}

# ffmpeg_loudness FILE -> "I_LUFS TP_dBTP" from the summary of ffmpeg's
# ebur128 filter (0.1 LU / 0.1 dB resolution).
ffmpeg_loudness() {
  ffmpeg -nostdin -nostats -hide_banner -i "$1" -af ebur128=peak=true -f null - 2>&1 |
    awk '/Summary:/ {s=1} s && /I:/ {i=$2} s && /Peak:/ {p=$2} END {print i, p}'
}

# ffmpeg_loudness_fine FILE -> "I_LUFS TP_dBTP" to 0.001 from ffmpeg
# ebur128's per-frame metadata (last integrated value, largest true peak).
ffmpeg_loudness_fine() {
  ffmpeg -nostdin -nostats -hide_banner -i "$1" \
    -af "ebur128=peak=true:metadata=1,ametadata=mode=print:file=-" -f null - 2>/dev/null |
    awk -F= '/^lavfi.r128.I=/{i=$2} /^lavfi.r128.true_peak=/{if($2+0>tp+0)tp=$2} END{printf "%.3f %.3f", i, 20*log(tp)/log(10)}'
}
