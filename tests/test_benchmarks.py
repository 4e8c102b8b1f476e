"""The benchmarks still run: each at a toy size, its last line one JSON object with its figures.

The benchmarks drive the rule scripts and package functions at the paper's size, so an API change
there breaks them without any other test noticing (rule_memory.py once fed crossval a copy of
fold B's model as fold A's, which crossval rightly refuses). The numbers at these sizes mean
nothing; only that the figures are there and finite.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

TOY_RUNS = {
    "rule_memory.py": (["--n-parent", "600", "--n-train", "150", "--n-features", "300", "--allstar-rows", "2000",
                        "--n-settings", "2", "--threads", "1"],
                       ["peak_rss_mb_train", "peak_rss_mb_train_A", "peak_rss_mb_crossval", "peak_rss_mb_catalog",
                        "seconds_crossval"]),
    "normalize_speed.py": (["--n-spectra", "40", "--n-loop", "10", "--repeats", "1"], None),
    "train_speed.py": (["--n-stars", "300", "--n-features", "120"], None),
    "cv_path.py": (["--n-stars", "300", "--n-features", "120", "--paper-lams", "3"],
                   ["seconds_grid_path", "seconds_grid_cold", "seconds_paper_one_fold", "ratio_grid_over_paper",
                    "objective_paper", "objective_path"]),
}


@pytest.mark.parametrize("script", sorted(TOY_RUNS))
def test_benchmark_runs_at_a_toy_size_and_ends_with_json(script, tmp_path):
    args, keys = TOY_RUNS[script]
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert isinstance(figures, dict) and figures
    for key in keys or []:
        assert key in figures, f"{script}: no {key} in {sorted(figures)}"
        assert math.isfinite(figures[key]) and figures[key] > 0, (key, figures[key])
