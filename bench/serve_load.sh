#!/usr/bin/env bash
# Benchmark: `sheen serve` under load on loopback (issue 8, must-show 4, the
# heavier version of crates/sheen-cli/tests/serve.rs load_twenty_concurrent_jobs).
#
#   bench/serve_load.sh [JOBS] [WORKERS] [WORK_DIR]
#
# Makes a 30 s stereo 44.1 kHz 24-bit mix from ../shared/excerpts, starts a
# release `sheen serve` on a free port, posts JOBS uploads of it at once
# (targets spotify and apple), waits for all, and prints: jobs done/failed,
# wall time, the server's peak RSS (VmHWM) and the peak RSS of the server
# plus its job processes (sampled every 50 ms from /proc). Needs ffmpeg, curl
# and python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
JOBS="${1:-40}"
WORKERS="${2:-$(nproc)}"
WORK="${3:-/tmp/sheen-bench-serve}"
rm -rf "$WORK/data"; mkdir -p "$WORK"

MIX="$WORK/song.wav"
[ -f "$MIX" ] || ffmpeg -nostdin -v error -i "$(ls "$EX"/*.flac | head -n 1)" -t 30 -c:a pcm_s24le "$MIX"

"$SHEEN" serve --addr 127.0.0.1:0 --data "$WORK/data" --workers "$WORKERS" > "$WORK/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
BASE=$(sed -n 's/^sheen serve: listening on //p' "$WORK/serve.log")

python3 - "$BASE" "$MIX" "$JOBS" "$PID" "$WORKERS" <<'EOF'
import json, os, subprocess, sys, threading, time
base, mix, jobs, pid, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def rss_kb(p, key="VmRSS:"):
    try:
        for line in open(f"/proc/{p}/status"):
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

def children(p):
    out = []
    try:
        for t in os.listdir(f"/proc/{p}/task"):
            out += [int(x) for x in open(f"/proc/{p}/task/{t}/children").read().split()]
    except OSError:
        pass
    return out

peak = {"total": 0, "procs": 0}
stop = False
def sample():
    while not stop:
        kids = children(pid)
        peak["total"] = max(peak["total"], rss_kb(pid) + sum(rss_kb(k) for k in kids))
        peak["procs"] = max(peak["procs"], len(kids))
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()

t0 = time.time()
def post(i, out):
    r = subprocess.run(["curl", "-s", "-F", f"files=@{mix};filename=song{i}.wav",
                        "-F", "targets=spotify,apple", f"{base}/api/jobs"],
                       capture_output=True, text=True, check=True)
    out[i] = json.loads(r.stdout)["id"]
ids = [None] * jobs
ts = [threading.Thread(target=post, args=(i, ids)) for i in range(jobs)]
[t.start() for t in ts]; [t.join() for t in ts]
t_up = time.time() - t0
states = {}
while True:
    states = {}
    for i in ids:
        r = subprocess.run(["curl", "-s", f"{base}/api/jobs/{i}"], capture_output=True, text=True)
        states[i] = json.loads(r.stdout)["state"]
    if all(s in ("done", "failed") for s in states.values()):
        break
    time.sleep(0.5)
wall = time.time() - t0
stop = True
done = sum(s == "done" for s in states.values())
print(f"sheen serve load: {jobs} jobs (30 s mix each, 2 targets), {workers} workers")
print(f"  done {done}, failed {jobs - done}, uploads {t_up:.1f} s, all finished {wall:.1f} s "
      f"({jobs / wall * 60:.1f} jobs/min)")
print(f"  server peak RSS {rss_kb(pid, 'VmHWM:') / 1024:.1f} MiB; server + job processes peak "
      f"{peak['total'] / 1024:.1f} MiB (sampled), at most {peak['procs']} job processes at once")
EOF
