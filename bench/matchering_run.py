#!/usr/bin/env python3
"""Runs Matchering 2 (pip install matchering) on one pair:
matchering_run.py TARGET REFERENCE OUT.wav (24-bit PCM result)."""
import sys

import matchering as mg

mg.log(lambda *_: None)
mg.process(target=sys.argv[1], reference=sys.argv[2], results=[mg.pcm24(sys.argv[3])])
