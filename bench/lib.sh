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

# measure CMD... -> "seconds rss_MB cpu_s": wall time (s, to the
# millisecond, by the clock around GNU time), peak resident memory (MB) and
# user + system CPU time (s) of CMD. CMD's output is discarded; if it fails,
# its last stderr lines are shown and measure returns 1. Dirty pages are
# written out first (`sync`, outside the timing), so a tool that fsyncs its
# output (sheen does, before renaming it into place) does not wait for the
# writeback of files an earlier tool left in the page cache (ext4's
# ordered-mode journal commit flushes them all). The command's executable
# and its arguments that are files are read once before the timing (page
# cache warm for every tool alike: some hosts page out page-cache pages idle
# for a minute, and a first run then waits for the disk).
measure() {
  local tf ef s e
  tf=$(mktemp)
  ef=$(mktemp)
  local a
  for a in "$(command -v "$1" || true)" "$@"; do
    [ -f "$a" ] && cat -- "$a" >/dev/null
  done
  sync
  s=$(date +%s%N)
  if ! /usr/bin/time -o "$tf" -f "%M %U %S" "$@" >/dev/null 2>"$ef"; then
    tail -n 5 "$ef" >&2
    rm -f "$tf" "$ef"
    return 1
  fi
  e=$(date +%s%N)
  tail -n 1 "$tf" | awk -v us=$(((e - s) / 1000)) '{printf "%.3f %.1f %.2f", us / 1e6, $1 / 1024, $2 + $3}'
  rm -f "$tf" "$ef"
}

# timed PREFIX CMD...: measure CMD and, unless ROUND is negative (an
# uncounted warm-up round), append its wall time, peak RSS and CPU time to
# the caller's arrays PREFIX_w, PREFIX_r and PREFIX_c.
timed() {
  local -n tw="$1_w" tr="$1_r" tc="$1_c"
  shift
  local t m c
  read -r t m c <<<"$(measure "$@")"
  if [ "${ROUND:-0}" -ge 0 ]; then
    tw+=("$t") tr+=("$m") tc+=("$c")
  fi
}

# median VALUES... -> the median (mean of the middle two for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# minimum VALUES... -> the smallest; maximum VALUES... -> the largest.
minimum() { printf '%s\n' "$@" | sort -g | head -n 1; }
maximum() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# host_index -> seconds of a fixed single-threaded Python loop (sum of
# 30 million integers): a yardstick for how fast this host is right now,
# printed beside timings so runs on different hosts can be compared.
host_index() {
  local s e
  s=$(date +%s%N)
  python3 -c 'sum(range(30_000_000))'
  e=$(date +%s%N)
  awk -v us=$(((e - s) / 1000)) 'BEGIN {printf "%.2f", us / 1e6}'
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
