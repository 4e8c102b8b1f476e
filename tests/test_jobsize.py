"""The jobs' memory requests: hand calculations of the models, and the requests at the paper's size
against the peaks benchmarks/paper_scale.py measured there (100,000-row mock, 2026-12-06).

A request must cover the measured peak (never below it) and stay within 1.5x of it, so that a
scheduler neither kills the job nor holds memory it never uses.
"""

import pytest

from spectroparallax.io import jobsize

#: Peak RSS [MB] (Snakemake benchmark max_rss) at the 100,000-row mock and the sizes the rule's
#: request is computed from there (benchmarks/paper_scale.py --sizes 20000 100000, 2026-12-06).
MEASURED_AT_PAPER_SIZE = {
    "mock_survey": (656.2, lambda: jobsize.mock_mem_mb(100_000)),
    # allStar file 16.80 MiB, 100,000 rows
    "reduce_allstar": (168.6, lambda: jobsize.reduce_allstar_mem_mb(16.80, 100_000)),
    # 42,164 allStar rows in the logg range, 4 shards of 10,541
    "aspcapstar_shard": (118.0, lambda: jobsize.aspcapstar_shard_mem_mb(10_541)),
    # batches of 2,000 (the largest of the four shards' peaks)
    "normalize_shard": (714.6, lambda: jobsize.normalize_mem_mb(10_541, 2000)),
    "select_pixels": (379.5, lambda: jobsize.select_pixels_mem_mb(42_164)),
    "select_samples": (317.8, lambda: jobsize.select_samples_mem_mb(42_164)),
    # X of 36,808 x 7,414
    "design_matrix": (527.9, lambda: jobsize.design_matrix_mem_mb(36_808, 7414)),
    "gaia_chunk": (352.1, lambda: jobsize.gaia_chunk_mem_mb(100_000)),   # the largest of the chunks (321-352)
    # HER19's sizes, the rule scripts on synthetic inputs (benchmarks/rule_memory.py, normalize_memory.py)
    "crossval (HER19)": (4555.0, lambda: jobsize.predict_mem_mb(22_392, 7414)),
    "reduce_allstar (486 MiB, 39,200 rows)": (585.0, lambda: jobsize.reduce_allstar_mem_mb(486.0, 39_200)),
    "normalize_shard (11,250 files)": (596.0, lambda: jobsize.normalize_mem_mb(11_250, 2000)),
    "design_matrix (45,000 x 7,460)": (579.0, lambda: jobsize.design_matrix_mem_mb(45_000, 7460)),
    # 20,000 rows (paper_scale.py): the train request once fell below this peak (530 MB for 595)
    "train (20,000 rows)": (595.0, lambda: jobsize.train_mem_mb(2631, 7414)),
    # the model holding out fold A trains on fold B's 12,714 stars (1,870 MB asked by the old model)
    "train": (2430.2, lambda: jobsize.train_mem_mb(12_714, 7414)),   # lambda 3; 2,169-2,251 at 10-100
    # the same run with the solver's column caches (session 9, paper_scale.py): holding out B, 12,842 stars
    "train (column caches)": (2739.9, lambda: jobsize.train_mem_mb(12_842, 7414)),
    "train (column caches, 20,000 rows)": (757.0, lambda: jobsize.train_mem_mb(2575, 7414)),
    # after the sub-problem's Newton step took every crossing pixel out at once (2026-12-07,
    # paper_scale.py): lambda = 3 holding out A (fold B's 12,714 stars) and B (12,842)
    "train (Newton step, held-out A)": (3135.7, lambda: jobsize.train_mem_mb(12_714, 7414)),
    "train (Newton step, held-out B)": (3117.6, lambda: jobsize.train_mem_mb(12_842, 7414)),
    # with the solver's large blocks in kept storage (2026-12-07 evening, paper_scale.py): lambda = 3
    "train (kept storage, held-out A)": (3335.0, lambda: jobsize.train_mem_mb(12_714, 7414)),
    "train (kept storage, held-out B)": (3349.3, lambda: jobsize.train_mem_mb(12_842, 7414)),
    # 20,000 rows of the same run: lambda = 100 holding out A (fold B's 2,518 stars)
    "train (kept storage, 20,000 rows)": (720.1, lambda: jobsize.train_mem_mb(2518, 7414)),
    "crossval": (3857.0, lambda: jobsize.predict_mem_mb(18_543, 7414)),   # 100,000 rows, larger fold A
    "catalog": (3745.0, lambda: jobsize.predict_mem_mb(18_543, 7414)),
    "crossval (2026-12-07 evening)": (3829.3, lambda: jobsize.predict_mem_mb(18_543, 7414)),
    "catalog (2026-12-07 evening)": (3826.2, lambda: jobsize.predict_mem_mb(18_543, 7414)),
}


def test_requests_are_the_model_times_the_margin_rounded_up_to_10_mb():
    # 58 + 1.01 x 16.8 + 0.00094 x 100,000 = 168.968 MB; x 1.2 = 202.76 -> 210
    assert jobsize.reduce_allstar_mem_mb(16.8, 100_000) == 210
    # 72 + 0.0025 x 100,000 = 322; x 1.2 = 386.4 -> 390; twice that on the second attempt
    assert jobsize.gaia_chunk_mem_mb(100_000) == 390
    assert jobsize.gaia_chunk_mem_mb(100_000, attempt=2) == 780
    # 72 + 0.0044 x 10,541 = 118.38; x 1.2 = 142.1 -> 150
    assert jobsize.aspcapstar_shard_mem_mb(10_541) == 150
    # 80 x 1.2 = 96 -> 100, which is also the floor; 100 x 1.2 = 120 stays 120
    assert jobsize.small_mem_mb() == 100 == jobsize.MIN_MEM_MB
    assert jobsize._mem(100.0, 1) == 120


@pytest.mark.parametrize("rule", sorted(MEASURED_AT_PAPER_SIZE))
def test_request_covers_the_measured_peak_within_1_5x(rule):
    peak, request = MEASURED_AT_PAPER_SIZE[rule]
    assert peak <= request() <= 1.5 * peak, (rule, peak, request())


def test_train_runtime_grows_for_small_lambda():
    # HER19's per-fold training matrix, 157 s at lambda 30 (rule_memory.py) x RUNTIME_MARGIN 4 = 10.5 -> 11 min;
    # lambda 3: x (30 / 3)^1.1 = 12.59 -> 131.8 -> 132 min; lambda 100 is no faster than 30
    assert jobsize.train_runtime_min(14_113, 7414) == 11 == jobsize.train_runtime_min(14_113, 7414, lam=100.0)
    assert jobsize.train_runtime_min(14_113, 7414, lam=3.0) == 132
    assert jobsize.train_runtime_min(14_113, 7414, attempt=2, lam=3.0) == 264
