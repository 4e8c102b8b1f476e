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
    # 41,764 spectra in 4 shards
    "aspcapstar_shard": (118.0, lambda: jobsize.aspcapstar_shard_mem_mb(10_441)),
    "gaia_chunk": (352.1, lambda: jobsize.gaia_chunk_mem_mb(100_000)),   # the largest of the chunks (321-352)
}


def test_requests_are_the_model_times_the_margin_rounded_up_to_10_mb():
    # 58 + 1.01 x 16.8 + 0.00094 x 100,000 = 168.968 MB; x 1.2 = 202.76 -> 210
    assert jobsize.reduce_allstar_mem_mb(16.8, 100_000) == 210
    # 72 + 0.0025 x 100,000 = 322; x 1.2 = 386.4 -> 390; twice that on the second attempt
    assert jobsize.gaia_chunk_mem_mb(100_000) == 390
    assert jobsize.gaia_chunk_mem_mb(100_000, attempt=2) == 780
    # 72 + 0.0044 x 10,441 = 117.94; x 1.2 = 141.5 -> 150
    assert jobsize.aspcapstar_shard_mem_mb(10_441) == 150
    # 80 x 1.2 = 96 -> 100, which is also the floor; 100 x 1.2 = 120 stays 120
    assert jobsize.small_mem_mb() == 100 == jobsize.MIN_MEM_MB
    assert jobsize._mem(100.0, 1) == 120


@pytest.mark.parametrize("rule", sorted(MEASURED_AT_PAPER_SIZE))
def test_request_at_the_paper_size_covers_the_measured_peak_within_1_5x(rule):
    peak, request = MEASURED_AT_PAPER_SIZE[rule]
    assert peak <= request() <= 1.5 * peak, (rule, peak, request())
