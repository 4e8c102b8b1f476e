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

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

TOY_RUNS = {
    "rule_memory.py": (["--n-parent", "600", "--n-train", "150", "--n-features", "300", "--allstar-rows", "2000",
                        "--n-settings", "2", "--threads", "1"],
                       ["peak_rss_mb_train", "peak_rss_mb_train_A", "peak_rss_mb_crossval", "peak_rss_mb_catalog",
                        "seconds_crossval"]),
    "normalize_speed.py": (["--n-spectra", "40", "--n-loop", "10", "--repeats", "1"],
                           ["speedup", "speedup_fresh_output", "ms_per_1000", "read_write_ms_per_1000",
                            "npy_read_write_ms_per_1000", "ceiling"]),
    "train_speed.py": (["--n-stars", "300", "--n-features", "120"], None),
    "mock_speed.py": (["--workdir", "mock", "--n-stars", "300", "--baseline-files", "5"],
                      ["simulator_cpu_s", "cpu_ms_per_file", "astropy_write_cpu_ms_per_file", "ratio_to_astropy_write"]),
    "cv_path.py": (["--n-stars", "300", "--n-features", "120", "--paper-lams", "3", "--perturbations", "2"],
                   ["seconds_grid_path", "seconds_grid_cold", "seconds_paper_one_fold", "ratio_grid_over_paper",
                    "ratio_grid_over_paper_min", "ratio_grid_over_paper_max", "objective_paper", "objective_path"]),
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


def test_paper_scale_reads_rule_costs_and_the_logged_wall_time(tmp_path):
    """paper_scale.py's figures come from Snakemake's files: per rule the summed benchmark times and
    the largest max_rss, and the whole workflow's wall time from the logs' time stamps (each
    invocation's first to last, summed), so a size resumed over two runs is timed as it ran."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import paper_scale

    bench = tmp_path / "benchmarks" / "out" / "mock"
    (bench / "train").mkdir(parents=True)
    head = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (bench / "normalize_shard_0.tsv").write_text(head + "10.0\t0:00:10\t500.5\t1\t1\t1\t0\t0\t50\t4.0\n")
    (bench / "normalize_shard_1.tsv").write_text(head + "30.0\t0:00:30\t700.0\t1\t1\t1\t0\t0\t50\tNA\n")
    (bench / "train" / "heldout_A_lambda_3.0_offset_0.029.tsv").write_text(
        head + "7.0\t0:00:07\t900.0\t1\t1\t1\t0\t0\t50\t6.5\n")
    rules = paper_scale.read_benchmarks(bench)
    assert rules["normalize_shard"] == {"jobs": 2, "wall_s": 40.0, "cpu_s": 4.0, "max_rss_mb": 700.0}
    assert rules["train"] == {"jobs": 1, "wall_s": 7.0, "cpu_s": 6.5, "max_rss_mb": 900.0}

    logs = tmp_path / ".snakemake" / "log"
    logs.mkdir(parents=True)
    (logs / "2026-12-06T184902.snakemake.log").write_text(
        "Building DAG of jobs...\n[Sun Dec  6 18:49:02 2026]\nrule a:\n[Sun Dec  6 18:59:30 2026]\n"
        "[Sun Dec  6 19:06:47 2026]\nElapsed time: 0:17:45\n")
    (logs / "2026-12-06T200000.snakemake.log").write_text("[Sun Dec  6 23:59:30 2026]\n[Mon Dec  7 00:00:30 2026]\n")
    (logs / "2026-12-06T210000.snakemake.log").write_text("Nothing to be done.\n")
    assert paper_scale.logged_wall(tmp_path) == 17 * 60 + 45 + 60
    # A later invocation that reran the simulator remade everything: only it and what follows count.
    (logs / "2026-12-06T220000.snakemake.log").write_text(
        "[Sun Dec  6 22:00:00 2026]\nlocalrule mock_survey:\n[Sun Dec  6 22:05:00 2026]\n")
    (logs / "2026-12-06T230000.snakemake.log").write_text("[Sun Dec  6 23:00:00 2026]\n[Sun Dec  6 23:00:10 2026]\n")
    assert paper_scale.logged_wall(tmp_path) == 300 + 10
    assert paper_scale.exponent(10.0, 50.0, 20_000, 100_000) == pytest.approx(1.0)


def _benchmark_module(name: str):
    """benchmarks/<name>.py imported as a module (its functions, not its command line)."""
    import importlib
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def test_the_uncertainty_benchmark_measures_a_completed_mock_run(figures_run):
    # benchmarks/uncertainty_calibration.py runs the workflow itself (minutes at its sizes); its
    # measure() is checked here on the session's improved-mode mock run, so an API change of the
    # catalog, the calibration table or the cluster check cannot break it unnoticed.
    work, _, _ = figures_run
    benchmark = _benchmark_module("uncertainty_calibration")
    figures, inside = benchmark.measure(work)
    assert figures["error_model"] == "calibrated"
    for key in ("width_truth", "width_truth_snr_1", "width_truth_logg_1.6_2.2", "width_truth_feh_-0.5_-0.2",
                "width_gaia_training", "epsilon_A", "b_LOGG_1_B", "b_FE_H_2_A_err", "two_param_s",
                "constant_width_truth", "constant_width_truth_snr_3", "logg1_width_truth_feh_-0.2_0.1",
                "logg1_clusters_pooled_scatter", "cluster_M71_scatter", "cluster_M71_mean_offset", "clusters_pooled_scatter", "phot_noise_width",
                "cluster_M71_total", "cluster_M71_offset", "clusters_inside_total", "logg1_clusters_inside_total"):
        assert math.isfinite(figures[key]), (key, figures[key])
    assert -1.0 <= figures["two_param_s_epsilon_correlation"] <= 1.0
    assert 0.5 < figures["width_truth"] < 2.0 and figures["n_parent"] > 1000
    # one run pooled alone gives its own figures; the same run twice counts its members twice
    alone = benchmark.pooled_over_seeds([inside])
    assert alone["clusters_inside_scatter"] == pytest.approx(figures["clusters_inside_scatter"])
    assert alone["clusters_inside_total"] == pytest.approx(figures["clusters_inside_total"])
    twice = benchmark.pooled_over_seeds([inside, inside])
    assert twice["members"] == 2 * inside[0].size and twice["clusters"] == 2 * len(inside[1])


def test_cv_scores_rescores_a_run_as_its_crossval_chose(figures_run):
    # benchmarks/cv_scores.py recomputes both scores from a finished run's saved models; on the
    # session's improved-mode run its deviance choice must be the one crossval made (best.yaml), and
    # its chi^2 numbers crossval.csv's, or the README's table of the two scores would not describe
    # what the workflow does.
    import yaml
    from astropy.table import Table
    work, _, _ = figures_run
    cv_scores = _benchmark_module("cv_scores")
    best = yaml.safe_load((work / "results/mock/crossval/best.yaml").read_text())
    table = Table.read(work / "results/mock/crossval/crossval.csv")
    out = cv_scores.rescore(work, 0.048, 1.0)   # the config fixture's model.reference_offset and tolerance
    assert best["score"] == "deviance" and out["deviance"]["chosen"] == [best["lambda"], best["offset"]]
    lowest = int(np.argmin(table["chi2"]))
    assert out["chi2"]["lowest"] == [float(table["lambda"][lowest]), float(table["offset"][lowest])]
    assert [s["delta"] for s in out["deviance"]["settings"]] == pytest.approx(list(table["delta_deviance"]), abs=0.01)
    assert out["true_offset"] == pytest.approx(0.048) and out["n_training"] > 500
    assert all(math.isfinite(s["scatter_truth"]) for s in out["chi2"]["settings"])


def test_clusters_pooled_over_seeds_by_hand():
    # uncertainty_calibration.py pools the clusters inside the training range over the seeds it ran:
    # the members' spreads together (not the mean of each run's width) and the totals' quadratic mean.
    benchmark = _benchmark_module("uncertainty_calibration")
    wide = np.array([-2.0, -1.0, 0.0, 1.0, 2.0] * 20)
    narrow = 0.25 * wide[:40]
    pooled = benchmark.pooled_over_seeds([(wide, [(1.2, 0.1)]), (narrow, [(0.6, 0.1), (0.9, 0.2)])])
    together = np.concatenate([wide, narrow])
    half_range = (np.percentile(together, 84) - np.percentile(together, 16)) / 2
    assert pooled["members"] == 140 and pooled["clusters"] == 3 and pooled["runs"] == 2
    assert pooled["clusters_inside_scatter"] == pytest.approx(half_range)
    assert pooled["clusters_inside_total"] == pytest.approx(np.sqrt((1.44 + 0.36 + 0.81) / 3))
