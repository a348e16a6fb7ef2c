#!/usr/bin/env python3
"""Figures of merit for bench/match_vs_matchering.sh.

Usage: match_metrics.py analyze.json
  analyze.json: the array `sheen analyze --json REF SHEEN_OUT MG_OUT` prints.

For each output: the mean absolute difference between its 1/3-octave band
levels and the reference's, both loudness-normalised (band dB minus the
file's integrated LUFS, so a pure level difference counts 0), over the
nominal bands 40 Hz ... 16 kHz (25 bands); its integrated loudness minus the
reference's (LU); and its true peak (dBTP). Prints one line of
`key=value` pairs (no third-party modules needed).
"""
import json
import sys


def rel_bands(a):
    lufs = a["integrated_lufs"]
    return {b["hz"]: b["db"] - lufs for b in a["third_octave_db"] if 40 <= b["hz"] <= 16000}


def main():
    ref, sheen, mg = json.load(open(sys.argv[1]))
    r = rel_bands(ref)
    out = []
    for name, a in (("sheen", sheen), ("matchering", mg)):
        b = rel_bands(a)
        mad = sum(abs(b[f] - r[f]) for f in r) / len(r)
        out.append(f"{name}_mad_db={mad:.3f}")
        out.append(f"{name}_dlufs={a['integrated_lufs'] - ref['integrated_lufs']:+.3f}")
        out.append(f"{name}_tp={a['true_peak_dbtp']:.3f}")
    print(" ".join(out))


if __name__ == "__main__":
    main()
