#!/usr/bin/env bash
# Benchmark: `sheen mix` against a comparable pedalboard (Spotify's Python
# wrapper of JUCE effects) script, in the same run (issue 5, part F). Not run
# in CI.
#
#   bench/mix_vs_pedalboard.sh [WORK_DIR]
#
# Session: 16 stereo stems x 60 s at 48 kHz (32-bit float WAV, synthesized
# deterministically), each track with a 3-band EQ (high-pass, peak, high
# shelf) and a compressor; tracks 0-7 into bus "drums", 8-15 into bus
# "music"; every track sends to a reverb return and a delay return. The
# pedalboard script runs the same chains per track (HighpassFilter,
# PeakFilter, HighShelfFilter, Compressor), sums buses and sends in numpy,
# runs Reverb and Delay on the returns and writes the mix. Both timings
# include reading the stems and writing the mix. The three runs are
# repeated in ROUNDS interleaved rounds (default 5); x-realtime = 60 s /
# median wall; cpu_s = median user + system CPU seconds (wall time is
# inflated when the machine is shared; the load average and a host index,
# lib.sh host_index, are printed before and after).
#
# Needs python3 with venv (pedalboard, numpy and soundfile are installed
# into WORK_DIR/venv from PyPI) and GNU time for peak memory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
WORK="${1:-/tmp/sheen-bench-mix}"
N=16
SECONDS_LONG=60
mkdir -p "$WORK/stems"

if [ ! -x "$WORK/venv/bin/python" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q pedalboard numpy soundfile
fi
PY="$WORK/venv/bin/python"

# Stems: band-limited noise bursts and tones, different per stem.
"$PY" - "$WORK/stems" "$N" "$SECONDS_LONG" <<'PYEOF'
import sys, os
import numpy as np, soundfile as sf
out, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fs = 48000
t = np.arange(secs * fs) / fs
for k in range(n):
    p = os.path.join(out, f"s{k:02d}.wav")
    if os.path.exists(p):
        continue
    rng = np.random.default_rng(k)
    f0 = 55.0 * 2 ** (k / 4)
    tone = 0.2 * np.sin(2 * np.pi * f0 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * (0.5 + 0.1 * k) * t))
    noise = 0.05 * rng.standard_normal((2, t.size))
    x = np.stack([tone, np.roll(tone, 7 * k)]) + noise
    sf.write(p, x.T.astype(np.float32), fs, subtype="FLOAT")
PYEOF

# The sheen session.
S="$WORK/session.toml"
{
  echo "sample_rate_hz = 48000"
  echo "tail_s = 2.0"
  for k in $(seq 0 $((N - 1))); do
    kk=$(printf '%02d' "$k")
    bus=drums; [ "$k" -ge 8 ] && bus=music
    cat <<TOML
[[tracks]]
name = "t$kk"
file = "stems/s$kk.wav"
gain_db = -6.0
output = "$bus"
inserts = [
  { type = "eq", bands = [
    { kind = "highpass", freq_hz = 40.0 },
    { kind = "peak", freq_hz = 1000.0, q = 1.0, gain_db = -3.0 },
    { kind = "high_shelf", freq_hz = 8000.0, gain_db = -2.0 },
  ] },
  { type = "compressor", threshold_db = -18.0, ratio = 4.0, attack_ms = 10.0, release_ms = 100.0, knee_db = 0.0 },
]
sends = [{ to = "verb", level_db = -18.0 }, { to = "echo", level_db = -24.0 }]
TOML
  done
  cat <<TOML
[[buses]]
name = "drums"
gain_db = -3.0
[[buses]]
name = "music"
gain_db = -3.0
[[returns]]
name = "verb"
inserts = [{ type = "reverb", rt60_s = 1.5, mix = 1.0 }]
[[returns]]
name = "echo"
inserts = [{ type = "delay", time_ms = 250.0, feedback = 0.35, mix = 1.0 }]
TOML
} >"$S"

# The pedalboard script.
cat >"$WORK/pb_mix.py" <<'PYEOF'
import sys, os
import numpy as np, soundfile as sf
from pedalboard import (Pedalboard, HighpassFilter, PeakFilter, HighShelfFilter,
                        Compressor, Reverb, Delay)
d, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fs = 48000
tail = 2 * fs
g = lambda db: 10 ** (db / 20)
buses = None
for k in range(n):
    x, _ = sf.read(os.path.join(d, "stems", f"s{k:02d}.wav"), dtype="float32", always_2d=True)
    x = np.concatenate([x.T, np.zeros((2, tail), np.float32)], axis=1)
    if buses is None:
        buses = {b: np.zeros_like(x) for b in ("drums", "music", "verb", "echo")}
    board = Pedalboard([
        HighpassFilter(cutoff_frequency_hz=40.0),
        PeakFilter(cutoff_frequency_hz=1000.0, gain_db=-3.0, q=1.0),
        HighShelfFilter(cutoff_frequency_hz=8000.0, gain_db=-2.0),
        Compressor(threshold_db=-18.0, ratio=4.0, attack_ms=10.0, release_ms=100.0),
    ])
    y = board(x, fs) * g(-6.0)
    buses["drums" if k < 8 else "music"] += y
    buses["verb"] += y * g(-18.0)
    buses["echo"] += y * g(-24.0)
verb = Pedalboard([Reverb(room_size=0.5, wet_level=1.0, dry_level=0.0)])(buses["verb"], fs)
echo = Pedalboard([Delay(delay_seconds=0.25, feedback=0.35, mix=1.0)])(buses["echo"], fs)
mix = (buses["drums"] + buses["music"]) * g(-3.0) + verb + echo
sf.write(out, mix.T, fs, subtype="FLOAT")
PYEOF

ROUNDS="${ROUNDS:-5}"
echo "sheen mix vs pedalboard: $N stereo stems x ${SECONDS_LONG} s at 48 kHz, EQ + compressor per track, 2 buses, reverb + delay sends ($(nproc) cores)"
echo "before: load $(cut -d' ' -f1-3 /proc/loadavg), host index $(host_index) s"
declare -a a_w a_c a_r b_w b_c b_r p_w p_c p_r
# round -1 warms up (not counted)
for ((ROUND = -1; ROUND < ROUNDS; ROUND++)); do
  timed a "$SHEEN" mix "$S" -o "$WORK/sheen_mix_t1.wav" --threads 1
  timed b "$SHEEN" mix "$S" -o "$WORK/sheen_mix.wav" --threads 0
  timed p "$PY" "$WORK/pb_mix.py" "$WORK" "$N" "$WORK/pedalboard_mix.wav"
done
echo "after:  load $(cut -d' ' -f1-3 /proc/loadavg), host index $(host_index) s"
printf '%-28s %9s %10s %8s %9s %11s %11s\n' tool median_s fastest_s cpu_s rss_MB x_realtime x_rt_fastest
row() { # name walls cpus rss (array names)
  local -n w=$2 c=$3 rs=$4
  local med fast
  med=$(median "${w[@]}")
  fast=$(minimum "${w[@]}")
  printf '%-28s %9s %10s %8s %9s %11.1f %11.1f\n' "$1" "$med" "$fast" "$(median "${c[@]}")" \
    "$(maximum "${rs[@]}")" "$(echo "$SECONDS_LONG / $med" | bc -l)" "$(echo "$SECONDS_LONG / $fast" | bc -l)"
}
row "sheen mix --threads 1" a_w a_c a_r
row "sheen mix (all cores)" b_w b_c b_r
row "pedalboard (python+numpy)" p_w p_c p_r
echo "($ROUNDS interleaved rounds; x_realtime = ${SECONDS_LONG} s / median wall)"
cmp -s "$WORK/sheen_mix_t1.wav" "$WORK/sheen_mix.wav" && echo "sheen: 1-thread and all-core mixes are byte-identical"
