"""Memory [MB] and runtime [minutes] each workflow job asks its scheduler for, from the data sizes.

A request is a measured model of the job's peak resident memory (or wall time) in the size of the
arrays it holds, times a margin, rounded up (to 100 MB, to whole minutes), never below a floor,
and multiplied by the attempt, so that a job the scheduler killed for memory or time is retried
with twice as much. Memory models (peak RSS, Linux VmHWM, of the rule's package calls):

==============  =================================================  =================================
rule            peak [MB]; sizes in MiB                            measured (MB at MiB)
==============  =================================================  =================================
train           163 + 7.6 x training matrix (n_train x D float32)  720 at 71 and 3179-3349 at 360-363
                                                                   (lambda = 3; 2372-2780 at 10-100)
                                                                   since the solver keeps its large
                                                                   blocks' storage (2026-12-07
                                                                   evening); 757 at 73 and 2979-3136
                                                                   (lambda = 3; 2715-2855 at 10-100)
                                                                   since the sub-problem's Newton step
                                                                   takes crossing pixels out at once
                                                                   (++, 2026-12-07: more columns in
                                                                   its solver's caches; 7.2 x gave
                                                                   3310, 5.6 % above 3136); 2644-2740
                                                                   before it; 595 and 2251-2430
                                                                   before the solver's column caches,
                                                                   for which 163 + 5.8 x gave 2730;
                                                                   rule_memory.py's stand-in peaks
                                                                   lower: 1689 at 399 (HER19)
crossval,       120 + 3.51 x X and X_err rows of the larger fold   259 at 41 (default mock); 4555 at
catalog                                                            1266 (HER19), rule_memory.py
normalize_shard 230 + 3.8 x one batch (shard_size x 8575 float32)  456, 596: shards of 2,000 and
                + 0.023 x files in the shard (with numba)          11,250 files, batches of 2,000 (*);
                                                                   526 at 2,131 and 616-715 at 10,541
                                                                   files (+: above the old 185 + ...
                                                                   + 0.015 x's 590)
design_matrix   556 + 0.018 x X (n_parent x D float32)             560 at 228, 579 at 1280 (*); 571 at
                                                                   211 and 528 at 1041 (+)
select_pixels   167 + 0.0051 x spectra (allStar rows in the logg   210 at 8,522 and 379 at 42,164
                range)                                             rows (+); 281 at 8,000, 302 at
                                                                   45,000 (*, the step alone)
select_samples  77 + 0.0057 x allStar rows in the logg range       125 at 8,522 and 318 at 42,164
                                                                   rows (+)
reduce_allstar  58 + 1.01 x the allStar file (memory-mapped)      585 at 486 MiB, ~39,000 13 kB rows
                + 0.00094 x its rows (the columns read, ~1 kB      (like DR14's), rule_memory.py;
                a row)                                             79.8 at 3.37 MiB, 20,000 rows and
                                                                   168.6 at 16.8 MiB, 100,000 rows (+)
aspcapstar_     72 + 0.0044 x files in the shard                   81 at 2,131 and 118 at 10,541
shard                                                              files (mock mirror copy) (+)
gaia_chunk      72 + 0.0025 x rows read (the mock: its whole       122 at 20,000 and 321-352 at 100,000
                cross-match, ~0.96 per allStar row)                mock rows (+)
mock_survey     337 + 0.0032 x n_stars                             401 at 20,000, 656 at 100,000
                                                                   (spectra for 0 < logg <= 2.2) (+)
others          80 (interpreter and imports)                       71-95 on the mocks
==============  =================================================  =================================

Peaks are Linux VmHWM of the rule's script or its package calls: benchmarks/rule_memory.py at
the default mock's and HER19's sizes; (*) benchmarks/normalize_memory.py at 8,000 and 45,000
stars, with the streaming normalization and design matrix of the normalize branch (before it,
the design matrix was built in memory: 7.96 GB at 45,000 stars).

(+) benchmarks/paper_scale.py, 2026-12-06, 20,000 and 100,000 allStar rows (Snakemake benchmark
max_rss; the 100,000-row mock is the paper's size, config/mock-paper-size.yaml). (++) the same
benchmark's second run, the same day, after the solver kept its columns' solves and Hessian
extensions between iterations; it also measured crossval and catalog at 100,000 rows: 3,857 and
3,745 MB for 18,543 x 7,414 (their model asks 4,570).

Every request is the model times :data:`MARGIN`, rounded up to :data:`MEM_STEP_MB`, at least
:data:`MIN_MEM_MB`: at the paper's size within 1.5x of the measured peak (tests/test_jobsize.py).

Runtimes are wall seconds measured on a shared 2-core machine, scaled linearly with the same
sizes. Downloads and Gaia queries could not be timed here (no archive access): their runtimes
assume one aspcapStar file per second per connection and half an hour per TAP query.

When a job's inputs do not exist yet (a dry run before anything ran) the sizes are estimated
from config by :func:`expected_sizes`; once the inputs exist, Snakemake re-evaluates the requests
from them (:func:`npy_shape`, :func:`fits_rows`, :func:`fold_counts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from spectroparallax.spectra.apogee_grid import N_PIXELS

MIB = 2**20
#: Every request is the modelled peak times this factor.
MARGIN = 1.2
#: Floor of every memory request [MB]: the interpreter, numpy and astropy take ~80.
MIN_MEM_MB = 100
#: Memory requests are rounded up to this [MB] (finer than 100 MB, so that a small job's request
#: stays within 1.5x of its peak).
MEM_STEP_MB = 10
#: Runtime requests are the measured time scaled to the job's size times this factor [minutes].
RUNTIME_MARGIN = 4.0
MIN_RUNTIME_MIN = 10

#: Columns of the design matrix before the spectral pixels: the constant and 8 bands (eq. 11).
N_NON_SPECTRAL = 9
#: HER19 sec. 4: 44,784 Parent Sample stars, 28,226 in the Training Sets, 7,405 pixels kept.
#: About 50,000 allStar rows have 0 < logg <= 2.2 (config.yaml, gaia.query_chunks); the DR14
#: allStar file is ~3.5 GB for 277,371 rows (spectroparallax.archives.allstar).
PAPER = dict(rows=50_000, parent=44_784, training=28_226, features=N_NON_SPECTRAL + 7405, allstar_mb=3500.0,
             allstar_rows=277_371)
#: The mock survey per allStar row (default mock: 1633, 1438 and 930 of 4,000 rows; 20,000-row
#: mock: 8522, 7540, 5208), and its allStar file's bytes per row.
MOCK_PER_ROW = dict(rows=0.42, parent=0.37, training=0.25, allstar_bytes=200)

# Measured wall times [s] and the sizes they were measured at.
_TRAIN_S_PER_ELEMENT = 157.0 / (14_113 * 7414)        # rule_memory.py, lambda 30, 2 threads
_PREDICT_S_PER_ELEMENT = 31.0 / (44_784 * 7414)       # rule_memory.py, catalog (one setting)
_NORMALIZE_S_PER_FILE = 9.2 / 2130                    # 20,000-star mock, one shard
_DESIGN_S_PER_ELEMENT = 5.5 / (7540 * 7408)           # 20,000-star mock
_MOCK_S_PER_STAR = 434.0 / 100_000                    # paper_scale.py, 100,000-row mock, load ~10 on 2 cores
DOWNLOAD_S_PER_FILE = 1.0                             # assumed, per connection
TAP_QUERY_MIN = 30                                    # assumed, per Gaia chunk
ALLSTAR_DOWNLOAD_MIN = 120                            # assumed: ~3.5 GB at >= 0.5 MB/s


@dataclass(frozen=True)
class Sizes:
    """Expected numbers of allStar rows in the logg range, Parent Sample and training stars,
    design-matrix columns, the allStar file's size [MB] and its rows."""

    rows: int
    parent: int
    training: int
    features: int
    allstar_mb: float
    allstar_rows: int


def expected_sizes(config: dict) -> Sizes:
    """Sizes to plan jobs with before the data exist: HER19's for the real archives, the mock's
    measured fractions of ``mock.n_stars`` for the mock survey."""
    if config["survey"] == "mock":
        n = config["mock"]["n_stars"]
        return Sizes(rows=math.ceil(MOCK_PER_ROW["rows"] * n), parent=math.ceil(MOCK_PER_ROW["parent"] * n),
                     training=math.ceil(MOCK_PER_ROW["training"] * n), features=PAPER["features"],
                     allstar_mb=n * MOCK_PER_ROW["allstar_bytes"] / 1e6, allstar_rows=n)
    return Sizes(**PAPER)


# ----------------------------------------------------------------------------------------------
# Sizes of existing files (headers only, so the scheduler stays fast)


def npy_shape(path) -> tuple[int, ...]:
    """Shape of the array in a ``.npy`` file, from its header."""
    return np.load(path, mmap_mode="r").shape


def fits_rows(path) -> int:
    """Rows of the table in HDU 1 of a FITS file, from its header."""
    return int(fits.getheader(path, 1)["NAXIS2"])


def fold_counts(parent_path) -> tuple[dict[str, int], dict[str, int]]:
    """(Parent Sample stars, training stars) per fold label of a ``parent.fits``."""
    with fits.open(parent_path, memmap=True) as hdul:
        fold = np.char.strip(np.asarray(hdul[1].data["fold"]).astype(str))
        training = np.asarray(hdul[1].data["training"], bool)
    labels = sorted(set(fold))
    return ({f: int(np.sum(fold == f)) for f in labels}, {f: int(np.sum(training & (fold == f))) for f in labels})


def ecsv_rows(path) -> int:
    """Rows of an ECSV table (a small one: it is read)."""
    return len(Table.read(path, format="ascii.ecsv"))


def file_mb(path) -> float:
    """Size of a file [MiB]."""
    return Path(path).stat().st_size / MIB


# ----------------------------------------------------------------------------------------------
# Requests


def _mem(peak_mb: float, attempt: int) -> int:
    steps = math.ceil(MARGIN * peak_mb / MEM_STEP_MB)
    return max(MIN_MEM_MB, MEM_STEP_MB * steps) * attempt


def _minutes(seconds: float, attempt: int) -> int:
    return max(MIN_RUNTIME_MIN, math.ceil(RUNTIME_MARGIN * seconds / 60)) * attempt


def _f32_mib(rows: int, cols: int) -> float:
    return rows * cols * 4 / MIB


def train_mem_mb(n_train: int, n_features: int, attempt: int = 1) -> int:
    return _mem(163 + 7.6 * _f32_mib(n_train, n_features), attempt)


#: A small lambda keeps more pixels non-zero and the fit takes longer: train's CPU time at the
#: 20,000-row mock (paper_scale.py, 2026-12-06) was ~13x lambda 30's at lambda 3 and ~2.2x at 10,
#: i.e. about (30 / lambda)^1.1 below the lambda 30 the per-element time was measured at.
_TRAIN_LAMBDA_REF, _TRAIN_LAMBDA_POWER = 30.0, 1.1


def train_runtime_min(n_train: int, n_features: int, attempt: int = 1, lam: float = _TRAIN_LAMBDA_REF) -> int:
    slower = max(1.0, _TRAIN_LAMBDA_REF / float(lam)) ** _TRAIN_LAMBDA_POWER
    return _minutes(_TRAIN_S_PER_ELEMENT * n_train * n_features * slower, attempt)


def predict_mem_mb(n_largest_fold: int, n_features: int, attempt: int = 1) -> int:
    """crossval and catalog: out-of-fold predictions, one fold's rows of X and X_err at a time."""
    return _mem(120 + 3.51 * 2 * _f32_mib(n_largest_fold, n_features), attempt)


def predict_runtime_min(n_parent: int, n_features: int, n_settings: int = 1, attempt: int = 1) -> int:
    return _minutes(_PREDICT_S_PER_ELEMENT * n_parent * n_features * n_settings, attempt)


def normalize_mem_mb(n_files: int, shard_size: int, attempt: int = 1) -> int:
    """One batch of shard_size spectra in memory; the shard's outputs are appended to files."""
    return _mem(230 + 3.8 * _f32_mib(min(n_files, shard_size), N_PIXELS) + 0.023 * n_files, attempt)


def normalize_runtime_min(n_files: int, attempt: int = 1) -> int:
    return _minutes(_NORMALIZE_S_PER_FILE * n_files, attempt)


def design_matrix_mem_mb(n_parent: int, n_features: int, attempt: int = 1) -> int:
    """X and X_err are written chunk by chunk: nearly flat in the size."""
    return _mem(556 + 0.018 * _f32_mib(n_parent, n_features), attempt)


def design_matrix_runtime_min(n_parent: int, n_features: int, attempt: int = 1) -> int:
    return _minutes(_DESIGN_S_PER_ELEMENT * n_parent * n_features, attempt)


def select_pixels_mem_mb(n_spectra: int, attempt: int = 1) -> int:
    return _mem(167 + 0.0051 * n_spectra, attempt)


def select_samples_mem_mb(n_rows: int, attempt: int = 1) -> int:
    """The cuts on the allStar rows in the logg range, joined with Gaia and the spectra's status."""
    return _mem(77 + 0.0057 * n_rows, attempt)


def reduce_allstar_mem_mb(allstar_mb: float, allstar_rows: int, attempt: int = 1) -> int:
    """The allStar file's pages (memory-mapped) plus ~1 kB per row for the columns it reads."""
    return _mem(58 + 1.01 * allstar_mb + 0.00094 * allstar_rows, attempt)


def aspcapstar_shard_mem_mb(n_files: int, attempt: int = 1) -> int:
    """Fetching (or copying from a mirror) a shard's aspcapStar files and their checksums."""
    return _mem(72 + 0.0044 * n_files, attempt)


def gaia_chunk_mem_mb(n_rows: int, attempt: int = 1) -> int:
    """A Gaia chunk job reading ``n_rows`` cross-match rows (the mock's whole file: its n_stars)."""
    return _mem(72 + 0.0025 * n_rows, attempt)


def mock_mem_mb(n_stars: int, attempt: int = 1) -> int:
    return _mem(337 + 0.0032 * n_stars, attempt)


def mock_runtime_min(n_stars: int, attempt: int = 1) -> int:
    return _minutes(_MOCK_S_PER_STAR * n_stars, attempt)


def download_runtime_min(n_files: int, connections: int, attempt: int = 1) -> int:
    return _minutes(DOWNLOAD_S_PER_FILE * n_files / max(connections, 1), attempt)


def small_mem_mb(attempt: int = 1) -> int:
    """Jobs that hold little more than the interpreter and a small table."""
    return _mem(80, attempt)


def minutes(value: int, attempt: int = 1) -> int:
    """A fixed runtime request [minutes], grown with the attempt like every other."""
    return max(MIN_RUNTIME_MIN, value) * attempt
