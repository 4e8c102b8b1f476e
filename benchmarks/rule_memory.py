"""Peak memory and time of the heavy rules (train, crossval, catalog, reduce_allstar) at the paper's size.

Writes the inputs those rules read, at HER19's size, into a scratch folder: the design matrix
``X.npy`` and ``X_err.npy`` (44,784 Parent Sample stars x 7,414 features, float32, as
design_matrix writes them), ``features.ecsv`` and ``parent.fits`` (folds A/B, 14,113 training
stars per fold: the paper's 28,226 in two halves). The features and parallaxes are
``train_speed.synthetic_training_set`` (spectra with absorption lines that respond to stellar
labels, parallaxes drawn from a sparse exp-linear model), its 14,113 stars repeated to fill the
Parent Sample, so both folds train on the same realistic problem. For reduce_allstar it writes an
allStar-like table whose rows are 13 kB (as DR14's: the scalar columns among large array columns).

Then it runs the workflow's own rule scripts (workflow/scripts/model/train.py, model/crossval.py, catalog/catalog.py,
reduce_allstar.py) one at a time, each in a fresh Python process with a stand-in for Snakemake's
``snakemake`` object, and reports each process's peak resident memory (Linux VmHWM, which counts
the memory-mapped pages of X and of the allStar file it touched) and wall time. The baseline,
measured in the same run, is a process that only imports what the scripts import; the ratios
compare each peak above it with the bytes the step has to hold: the training rows for train, the
X and X_err rows of the larger fold for the predictions, the file for reduce_allstar.

    python benchmarks/rule_memory.py                  # the paper's size (~3.5 GB of scratch files)
    python benchmarks/rule_memory.py --n-parent 1438 --n-train 465 --n-features 7408   # default mock

BLAS runs with ``--threads`` threads (what Snakemake sets for a job of that many threads).
Normalization and the design matrix are measured by benchmarks/normalize_memory.py.
The last line printed is one JSON object with the figures.
"""

import argparse
import json
import os
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
# HER19 sec. 4: 44,784 stars in the Parent Sample, 28,226 in the Training Sets, 7,405 pixels
# kept; 1 + 8 photometric features before them (eq. 11).
PAPER_PARENT, PAPER_TRAIN_PER_FOLD, PAPER_FEATURES = 44784, 28226 // 2, 1 + 8 + 7405
FOLDS = ("A", "B")
LAM, OFFSET = 30.0, 0.048
#: Bytes per allStar row in DR14 (~3.5 GB for 277,371 rows), mostly array columns.
ALLSTAR_ROW_BYTES = 13_000
# "train" fits the model that holds out fold B, "train_A" the one that holds out A (both on the same
# synthetic stars: the model files must still say which fold they hold out, as crossval checks).
# The DR14 version strings (config.yaml apogee.versions.dr14): the allStar stand-in has DR14's columns.
DR14_VERSIONS = {"apred": "r8", "aspcap": "l31c", "results": "l31c.2"}
STEPS = ("baseline", "train", "train_A", "crossval", "catalog", "reduce_allstar")
#: The stage folder of each step's rule script (workflow/scripts/<stage>/<step>.py).
STAGE = {"train": "model", "train_A": "model", "crossval": "model", "catalog": "catalog", "reduce_allstar": "archives"}
SCRIPT = {"train_A": "train"}


class _Files(list):
    """A list with named entries, like snakemake.input / output / params."""

    def __init__(self, *items, **named):
        super().__init__([*items, *named.values()])
        self.__dict__.update(named)

    def get(self, key, default=None):
        """As Snakemake's named lists: a named item or ``default``."""
        return self.__dict__.get(key, default)


def _model(d: Path, fold: str) -> str:
    return str(d / "models" / f"heldout_{fold}" / f"lambda_{LAM}_offset_{OFFSET}.fits")


def _stand_in(step: str, d: Path, n_settings: int, threads: int):
    """The ``snakemake`` object the rule script of ``step`` would get from Snakemake."""
    common = dict(config={}, threads=threads, log=_Files(str(d / f"{step}.log")))
    features = dict(X=str(d / "X.npy"), X_err=str(d / "X_err.npy"), parent=str(d / "parent.fits"))
    # Every setting reuses the same two models: the predictions cost the same whatever theta is.
    models = [_model(d, f) for _ in range(n_settings) for f in FOLDS]
    if step in ("train", "train_A"):
        fold = "A" if step == "train_A" else "B"
        return _Files(**common, input=_Files(index=str(d / "features.ecsv"), **features), output=_Files(_model(d, fold)),
                      params=_Files(burn_in_snr=20.0, high_snr_subset="improved", optimizer="exact", l21=False,
                                    start=None, photometry_basis="magnitudes"),
                      wildcards=_Files(fold=fold, lam=str(LAM), offset=str(OFFSET)))
    if step == "crossval":
        return _Files(**common, input=_Files(models=models, **features),
                      output=_Files(table=str(d / "crossval.csv"), best=str(d / "best.yaml")),
                      params=_Files(settings=[(LAM, OFFSET)] * n_settings, folds=list(FOLDS), snr_min=20.0,
                                    high_snr_subset="improved", reference_offset=None, reference_offset_tolerance=None,
                                    hyperparameters="improved", cv_score="improved",
                                    l21=False))
    if step == "catalog":
        return _Files(**common, input=_Files(best=str(d / "best.yaml"), models=models, **features),
                      output=_Files(fits=str(d / "catalog.fits"), csv=str(d / "catalog.csv"),
                                    calibration=str(d / "calibration.csv")),
                      params=_Files(folds=list(FOLDS), model=str(d / "models" / "heldout_{fold}" /
                                                                 "lambda_{lam}_offset_{offset}.fits"),
                                    config_hash="rule_memory", style="improved", uncertainties="improved",
                                    outlier_factor=10.0, fit_scale=False, epsilon_covariates=["LOGG", "FE_H"], epsilon_degree=2,
                                    l21=False,
                                    training_cuts={"parallax_error_max": 0.1,
                                                                      "visibility_periods_min": 8,
                                                                      "astrometric_chi2_max": 35.0}))
    if step == "reduce_allstar":
        from spectroparallax.archives import sas
        return _Files(**common, input=_Files(str(d / "allStar.fits")), output=_Files(str(d / "allstar_reduced.fits")),
                      params=_Files(path=str(d / "allStar.fits"), logg_min=0.0, logg_max=2.2,
                                    layout=sas.layout("dr14", {"dr14": DR14_VERSIONS})))
    raise ValueError(step)


def _peak_rss_mb() -> float:
    """This process's peak resident memory [MB] (Linux VmHWM).

    Not getrusage's ru_maxrss: Linux carries it across fork and exec, so a child would report at
    least its parent's size (here, the process that generated the inputs).
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc/self/status: this benchmark needs Linux")


def _child(step: str, d: Path, n_settings: int, threads: int) -> None:
    """Run one rule script (or only the imports, for the baseline) and print its peak memory."""
    t = time.perf_counter()
    if step == "baseline":
        import numpy  # noqa: F401
        import yaml  # noqa: F401
        from astropy.table import Table  # noqa: F401

        from spectroparallax import model  # noqa: F401
        from spectroparallax.archives import allstar
        from spectroparallax.catalog import stats, table
        from spectroparallax.model import crossval, files as model_files
    else:
        runpy.run_path(str(SCRIPTS / STAGE[step] / f"{SCRIPT.get(step, step)}.py"), init_globals={"snakemake": _stand_in(step, d, n_settings, threads)},
                       run_name="__main__")
    seconds = round(time.perf_counter() - t, 2)
    print(json.dumps({"step": step, "peak_rss_mb": round(_peak_rss_mb(), 1), "seconds": seconds}))


def _write_inputs(d: Path, n_parent: int, n_train: int, n_features: int, seed: int) -> None:
    """The design matrix, feature index and Parent Sample of the module docstring, in ``d``."""
    import numpy as np
    from astropy.table import Table

    from spectroparallax.sample import features
    from spectroparallax.spectra import apogee_grid
    from train_speed import synthetic_training_set

    X, y, ivar, _, _ = synthetic_training_set(n_train, n_features, seed)
    # Fold A is the first half of the parent rows, B the second; each fold's first n_train rows
    # are its training stars and all rows repeat the synthetic set.
    half = n_parent // 2
    source = np.concatenate([np.arange(half), np.arange(n_parent - half)]) % n_train
    training = np.concatenate([np.arange(half) < n_train, np.arange(n_parent - half) < n_train])
    for name in ("X.npy", "X_err.npy"):
        out = np.lib.format.open_memmap(d / name, mode="w+", dtype=np.float32, shape=(n_parent, n_features))
        for start in range(0, n_parent, 4096):
            rows = source[start:start + 4096]
            if name == "X.npy":
                out[start:start + len(rows)] = X[rows]
            else:  # feature errors: 0.02 mag photometry, ~1 % ln-flux errors
                err = np.full((len(rows), n_features), 0.01, np.float32)
                err[:, 0], err[:, 1:9] = 0.0, 0.02
                out[start:start + len(rows)] = err
        out.flush()
        del out
    pixels = np.sort(np.random.default_rng(seed).choice(apogee_grid.N_PIXELS, n_features - 9, replace=False))
    features.feature_index(pixels, apogee_grid.wavelength()[pixels]).write(d / "features.ecsv")
    Table({
        "APOGEE_ID": np.array([f"2M{k:08d}+0000000" for k in range(n_parent)]),
        "source_id": np.arange(n_parent, dtype=np.int64),
        "ra": np.linspace(0, 360, n_parent, endpoint=False), "dec": np.zeros(n_parent),
        "parallax": y[source], "parallax_error": 1 / np.sqrt(ivar[source]),
        "fold": np.where(np.arange(n_parent) < half, "A", "B"), "training": training,
        # the calibration's covariates (calibration.epsilon_covariates), in the parent sample's range
        "LOGG": np.random.default_rng(seed + 1).uniform(0.3, 2.2, n_parent),
        "FE_H": np.random.default_rng(seed + 2).normal(-0.2, 0.3, n_parent),
    }).write(d / "parent.fits")


def _write_allstar(path: Path, n_rows: int, seed: int) -> None:
    """An allStar-like FITS table: the columns reduce_allstar reads among a wide array column."""
    import numpy as np
    from astropy.io import fits

    from spectroparallax.archives.columns import ALLSTAR_COLUMNS

    rng = np.random.default_rng(seed)
    formats = {"i4": "J", "i8": "K", "f8": "D", "f4": "E"}
    cols = []
    for name, (dtype, _, _) in ALLSTAR_COLUMNS.items():
        if dtype.startswith("U"):
            values = np.array([f"2M{k:016d}" for k in range(n_rows)])
            cols.append(fits.Column(name=name, format=f"{dtype[1:]}A", array=values))
        else:
            values = rng.uniform(-1.0, 5.0, n_rows).astype(dtype)   # LOGG in (0, 2.2] for ~37 %
            cols.append(fits.Column(name=name, format=formats[dtype], array=values))
    width = (ALLSTAR_ROW_BYTES - sum(c.array.dtype.itemsize for c in cols)) // 4
    cols.append(fits.Column(name="PADDING", format=f"{width}E", array=np.zeros((n_rows, width), np.float32)))
    fits.BinTableHDU.from_columns(cols).writeto(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-parent", type=int, default=PAPER_PARENT)
    ap.add_argument("--n-train", type=int, default=PAPER_TRAIN_PER_FOLD, help="training stars per fold")
    ap.add_argument("--n-features", type=int, default=PAPER_FEATURES)
    ap.add_argument("--n-settings", type=int, default=6, help="(lambda, offset) settings crossval predicts")
    ap.add_argument("--allstar-rows", type=int, default=40_000,
                    help="rows of the allStar-like file (DR14: 277,371; the memory scales with the file)")
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scratch", help="folder for the inputs (default: a temporary folder)")
    ap.add_argument("--child", nargs=2, metavar=("STEP", "DIR"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.child[0], Path(a.child[1]), a.n_settings, a.threads)
        return
    if a.n_train > a.n_parent // 2:
        raise SystemExit("--n-train is per fold: at most half of --n-parent")

    steps = {}
    with tempfile.TemporaryDirectory(dir=a.scratch) as tmp:
        d = Path(tmp)
        t = time.perf_counter()
        _write_inputs(d, a.n_parent, a.n_train, a.n_features, a.seed)
        _write_allstar(d / "allStar.fits", a.allstar_rows, a.seed)
        allstar_mb = (d / "allStar.fits").stat().st_size / 2**20
        for fold in FOLDS:
            (d / "models" / f"heldout_{fold}").mkdir(parents=True)
        print(f"inputs: {a.n_parent} parent x {a.n_features} features, {a.n_train} training stars per fold; "
              f"allStar {a.allstar_rows} rows, {allstar_mb:.0f} MiB ({time.perf_counter() - t:.0f} s to write)",
              flush=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "benchmarks"), os.environ.get("PYTHONPATH", "")]))
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(a.threads)
        for step in STEPS:
            out = subprocess.run([sys.executable, __file__, "--child", step, str(d), "--n-settings", str(a.n_settings),
                                  "--threads", str(a.threads)], env=env, capture_output=True, text=True)
            if out.returncode:
                raise SystemExit(f"step {step} failed:\n{out.stderr[-3000:]}")
            steps[step] = json.loads(out.stdout.strip().splitlines()[-1])
            peak, seconds = steps[step]["peak_rss_mb"], steps[step]["seconds"]
            print(f"{step:15s} peak RSS {peak:8.1f} MB  {seconds:7.1f} s", flush=True)

    mib = 2**20
    base = steps["baseline"]["peak_rss_mb"]
    held = {"train": a.n_train * a.n_features * 4 / mib,
            "crossval": 2 * (a.n_parent - a.n_parent // 2) * a.n_features * 4 / mib,   # X, X_err of the larger fold
            "reduce_allstar": allstar_mb}
    held["catalog"] = held["crossval"]
    out = {f"peak_rss_mb_{s}": steps[s]["peak_rss_mb"] for s in STEPS}
    out.update({f"{s}_over_held_mib": round((steps[s]["peak_rss_mb"] - base) / held[s], 2) for s in held})
    out.update({f"seconds_{s}": steps[s]["seconds"] for s in STEPS[1:]})
    out.update(n_parent=a.n_parent, n_train=a.n_train, n_features=a.n_features, n_settings=a.n_settings,
               allstar_mib=round(allstar_mb, 1), threads=a.threads)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
