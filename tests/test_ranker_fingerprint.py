"""The ranker's candidates and features for the seed questions equal the recorded ones
(tests/fingerprint.py records them): speeding up the featurizer changes no feature."""

from __future__ import annotations

import json
import subprocess
import sys

from fingerprint import ARTIFACT


def test_every_question_has_its_recorded_candidates_and_features(seed_config):
    """In a child process with the hash seed the recording used (see fingerprint.py)."""
    recorded = json.loads(ARTIFACT.read_text(encoding="utf-8"))
    assert len(recorded) >= 60
    out = subprocess.run([sys.executable, ARTIFACT.parent.parent / "fingerprint.py",
                          "--index", seed_config.index], capture_output=True, text=True,
                         check=True).stdout
    got = json.loads(out)
    assert sorted(got) == sorted(recorded)
    assert not [qid for qid, row in recorded.items() if got[qid] != row["sha256"]]
