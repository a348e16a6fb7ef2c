#!/usr/bin/env python3
"""Automix on the public corpus (issue "Automatic mixing", must-shows 1, 2, 4).

    bench/automix_corpus.py CORPUS_DIR SHEEN_BINARY [WORK_DIR]

CORPUS_DIR is built by ../shared/corpus/make_corpus.sh. For every
`balance/<piece>_r<k>/` folder (the piece's stems with each gain drawn
uniformly in ±12 dB, fixed seed), this script

1. runs `sheen automix` on the folder and renders the session with
   `sheen mix --stems-out`, so every track is measured post-fader, as placed
   in the automix (inserts, gain, pan included);
2. measures with `sheen analyze --json` the per-stem loudness relative to the
   mix (stem LUFS − mix LUFS) in (a) the original sum
   (`multitracks/<piece>/`, `reference_mixes/<piece>.wav`), (b) the
   randomized input (its plain sum, rendered by `sheen mix --init`), (c) the
   automix; and prints the median over all stems of |b − a| and |c − a|;
3. computes the masking measure of docs/AUTOMIX.md §5 (summed per-band
   overlap Σ_b Σ_{i<j} min(P_i,b, P_j,b) / P_mix,b over 1/3-octave bands
   40 Hz–16 kHz) for the randomized plain sum and for the automix.

Then the classification accuracy: each piece's stems named by their
instrument (truth.json `instrument`; "named stems") and renamed
`track01..N`, classified by `sheen automix`, compared with the class of the
instrument in TRUTH_CLASS below.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tomllib

# Class of each corpus instrument (the truth for the accuracy figure).
TRUTH_CLASS = {
    "Flute": "woodwinds", "Oboe": "woodwinds", "Clarinet": "woodwinds",
    "Bassoon": "woodwinds", "Trumpet": "brass", "French Horn": "brass",
    "Trombone": "brass", "Tuba": "brass", "Violin": "strings",
    "Viola": "strings", "Cello": "strings", "Contrabass": "bass",
    "Bass": "bass", "Bell Arp": "synth", "FM": "synth",
    "Killed Voice": "synth", "Pad": "pad", "crash02.ogg": "hi_hat",
    "sfxr": "fx", "Broken": "synth", "bassdrum02.ogg": "kick",
    "Clap": "percussion", "HiHat": "hi_hat", "snare02.ogg": "snare",
    "snare01.ogg": "snare",
}


def run(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def analyze(sheen, path):
    d = json.loads(run(sheen, "analyze", "--json", path))
    bands = {b["hz"]: 10 ** (b["db"] / 10) for b in d["third_octave_db"]}
    return d["integrated_lufs"], bands


def rel_loudness(sheen, stems, mix):
    lm, _ = analyze(sheen, mix)
    out = []
    for s in stems:
        l, _ = analyze(sheen, s)
        out.append(None if l is None else l - lm)
    return out


def overlap(sheen, stems, mix):
    """Summed per-band overlap Σ_b Σ_{i<j} min(P_i,b, P_j,b) / P_mix,b."""
    _, pm = analyze(sheen, mix)
    ps = [analyze(sheen, s)[1] for s in stems]
    total = 0.0
    for hz, p_mix in pm.items():
        if not (40 <= hz <= 16000) or p_mix <= 0:
            continue
        acc = 0.0
        for i in range(len(ps)):
            for j in range(i + 1, len(ps)):
                acc += min(ps[i].get(hz, 0.0), ps[j].get(hz, 0.0))
        total += acc / p_mix
    return total


def masked_share(sheen, stems):
    """Share of masked bands (docs/AUTOMIX.md §5): over the stems and their
    significant 1/3-octave bands (40 Hz-16 kHz, within 20 dB of the stem's
    strongest band), the fraction where the other stems' summed power
    exceeds the stem's own by more than 10 dB (signal-to-masker ratio below
    -10 dB)."""
    ps = [analyze(sheen, s)[1] for s in stems]
    masked = total = 0
    for i, p in enumerate(ps):
        bands = {hz: v for hz, v in p.items() if 40 <= hz <= 16000}
        if not bands:
            continue
        top = max(bands.values())
        for hz, v in bands.items():
            if v <= 0 or v < top / 100:
                continue
            others = sum(q.get(hz, 0.0) for j, q in enumerate(ps) if j != i)
            total += 1
            if others > 10 * v:
                masked += 1
    return masked / max(total, 1)


def classes_of(session_path):
    with open(session_path, "rb") as f:
        s = tomllib.load(f)
    return {t["name"]: t["reasons"]["class"].split(" ")[0] for t in s["tracks"]}


def main():
    corpus, sheen = sys.argv[1], os.path.abspath(sys.argv[2])
    work = sys.argv[3] if len(sys.argv) > 3 else "/tmp/sheen-automix-bench"
    os.makedirs(work, exist_ok=True)
    d_rand, d_auto, rows = [], [], []
    for v in sorted(os.listdir(os.path.join(corpus, "balance"))):
        vdir = os.path.join(corpus, "balance", v)
        truth = json.load(open(os.path.join(vdir, "truth.json")))
        piece = truth["piece"]
        files = [s["file"] for s in truth["stems"]]
        names = [os.path.splitext(f)[0] for f in files]
        wdir = os.path.join(work, v)
        os.makedirs(wdir, exist_ok=True)
        # (a) original balance
        orig = rel_loudness(sheen, [os.path.join(corpus, "multitracks", piece, f) for f in files],
                            os.path.join(corpus, "reference_mixes", piece + ".wav"))
        # (b) randomized input, plain sum
        plain_dir = os.path.join(wdir, "plain")
        os.makedirs(plain_dir, exist_ok=True)
        for f in files:
            dst = os.path.join(plain_dir, f)
            if not os.path.exists(dst):
                os.symlink(os.path.join(vdir, f), dst)
        sess = os.path.join(plain_dir, "session.toml")
        if os.path.exists(sess):
            os.remove(sess)
        run(sheen, "mix", "--init", plain_dir)
        plain_mix = os.path.join(wdir, "plain_mix.wav")
        plain_tracks = os.path.join(wdir, "plain_tracks")
        run(sheen, "mix", sess, "-o", plain_mix, "--stems-out", plain_tracks)
        # track names of --init: lower case file stems
        ptrack = [os.path.join(plain_tracks, n.lower() + ".wav") for n in names]
        rand = rel_loudness(sheen, ptrack, plain_mix)
        # (c) automix
        asess = os.path.join(wdir, "automix.toml")
        run(sheen, "automix", vdir, "-o", asess)
        amix = os.path.join(wdir, "automix.wav")
        atracks = os.path.join(wdir, "automix_tracks")
        run(sheen, "mix", asess, "-o", amix, "--stems-out", atracks)
        atrack = [os.path.join(atracks, n.lower() + ".wav") for n in names]
        auto = rel_loudness(sheen, atrack, amix)
        for o, r, a in zip(orig, rand, auto):
            if o is None or r is None or a is None:
                continue
            d_rand.append(abs(r - o))
            d_auto.append(abs(a - o))
        m_plain = masked_share(sheen, ptrack)
        m_auto = masked_share(sheen, atrack)
        o_plain = overlap(sheen, ptrack, plain_mix)
        o_auto = overlap(sheen, atrack, amix)
        # the rendered tracks are measured: free the disk (a few GB per run)
        for d in (plain_tracks, atracks):
            shutil.rmtree(d, ignore_errors=True)
        for f in (plain_mix, amix):
            os.remove(f)
        rows.append((v, statistics.median([abs(r - o) for o, r in zip(orig, rand) if o is not None and r is not None]),
                     statistics.median([abs(a - o) for o, a in zip(orig, auto) if o is not None and a is not None]),
                     m_plain, m_auto, o_plain, o_auto))
    print(f"{'variant':<22} {'med |rand-orig| LU':>18} {'med |auto-orig| LU':>18} {'masked plain':>12} {'masked auto':>11} {'overlap plain':>13} {'overlap auto':>12}")
    for v, r, a, mp, ma, op, oa in rows:
        print(f"{v:<22} {r:18.2f} {a:18.2f} {mp:12.3f} {ma:11.3f} {op:13.3f} {oa:12.3f}")
    print(f"ALL stems ({len(d_auto)}): median |randomized - original| = {statistics.median(d_rand):.2f} LU, "
          f"median |automix - original| = {statistics.median(d_auto):.2f} LU")
    lower = sum(1 for row in rows if row[4] < row[3])
    print(f"masked-band share lower for automix than plain sum on {lower} of {len(rows)} variants "
          f"(mean {statistics.mean(r[3] for r in rows):.3f} plain, {statistics.mean(r[4] for r in rows):.3f} automix)")
    lower = sum(1 for row in rows if row[6] < row[5])
    print(f"summed overlap lower for automix than plain sum on {lower} of {len(rows)} variants")

    # classification accuracy
    for mode in ("named", "renamed"):
        ok = total = 0
        wrong = []
        for piece in sorted(os.listdir(os.path.join(corpus, "multitracks"))):
            pdir = os.path.join(corpus, "multitracks", piece)
            truth = json.load(open(os.path.join(pdir, "truth.json")))
            cdir = os.path.join(work, "classify", mode, piece)
            os.makedirs(cdir, exist_ok=True)
            expected = {}
            for k, s in enumerate(truth["stems"]):
                name = (s["instrument"].replace(" ", "_").replace(".ogg", "") + (f"_{k + 1}")
                        if mode == "named" else f"track{k + 1:02d}")
                dst = os.path.join(cdir, name + ".wav")
                if not os.path.exists(dst):
                    os.symlink(os.path.join(pdir, s["file"]), dst)
                expected[name.lower()] = TRUTH_CLASS[s["instrument"]]
            sess = os.path.join(work, "classify", f"{mode}_{piece}.toml")
            got = classes_of(run_automix(sheen, cdir, sess))
            for n, want in expected.items():
                total += 1
                if got.get(n) == want:
                    ok += 1
                else:
                    wrong.append(f"{piece}/{n}: {got.get(n)} (truth {want})")
        print(f"classification, {mode} stems: {ok}/{total} = {100 * ok / total:.0f} %")
        for w in wrong:
            print("   ", w)


def run_automix(sheen, folder, session):
    run(sheen, "automix", folder, "-o", session)
    return session


if __name__ == "__main__":
    main()
