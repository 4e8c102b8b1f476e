"""Cross-validation grid as a warm-started path against one fold of the paper's optimizer (issue 19).

On a synthetic training set of the paper's size (benchmarks/train_speed.py's synthetic_training_set;
2 x 14,000 stars, one fold each, x 7,414 features by default), in this process:

* the paper's optimizer (L-BFGS-B with the sign() subgradient, start 0.001/D, burn-in then all
  stars, maxfun 50000: spectroparallax.model.paper_optimizer.fit_baseline) for ONE fold at
  lambda ``--paper-lam`` and offset ``--paper-offset``;
* the project's whole grid (config.yaml's model.lambda_grid x model.offset_grid, both folds) as
  spectroparallax.model.exp_linear.fit_grid runs it: per fold X is scaled once and the model
  Hessian kept between fits; the first offset's lambdas from the largest down, each warm-started
  from the previous answer, and each later offset's lambdas from the previous offset's answers;
* the same grid cold (every setting from its own burn-in fit), unless --skip-cold;
* with --paper-lams, the paper's optimizer on the same fold at those lambdas too (objectives only).

Prints per-setting wall times, the objectives (eq. 3) of both optimizers at the paper's lambda on
the same data, the ratio grid wall / paper one-fold wall (target <= 0.1) and the warm/cold speedup.

    python benchmarks/cv_path.py --skip-cold                         # paper size (30-60 min when loaded)
    python benchmarks/cv_path.py --n-stars 3500 --n-features 1854    # a quarter of each dimension

The grid's time is one draw: its iteration counts follow float32 round-off, so a relative change of
1e-9 in the parallaxes moves the whole grid's time by up to +-8 % (the same code, 2026-12-07: 40.6-47.2 s
over four such draws). ``--perturbations K`` times it K times (the k-th with the parallaxes scaled by
1 + e_k, e = 0, 1e-9, -1e-9, 2e-9, ...) and the ratio uses the mean; the objectives are the
unperturbed run's.

With ``--design RUN`` the two folds' training stars, Gaia parallaxes, errors and penalized mask
come from a finished workflow folder instead (e.g. benchmarks/paper_scale.py's 100,000-row mock, the
paper's size), so the optimum is as sparse as the workflow's own data make it.

Measured (shared 2-core machine; ``--blas-threads``, default 1, applies to both optimizers; CPU
seconds are the process's, less sensitive to the load than wall seconds):

* 2026-12-07 evening, idle machine, the same design, --skip-cold --perturbations 4, one BLAS thread:
  grid 42.2, 39.5, 37.3, 39.2 s (mean 39.6 s), paper fold 463.8 s: ratio 0.0853 (0.080-0.091): target
  0.1 met; against the morning's 425 s paper fold 0.093. Objective at lambda 30: path 9015.012, paper
  9130.649. The changes since the entry below: the solver's large blocks (the QP's Hessian block, the
  factor, the cache, the weighted columns) written into kept storage instead of new ~100 MB arrays,
  whose page faults cost as much as the copies (the same arithmetic: the 16 thetas bitwise equal;
  alone: 37.5, 42.4, 42.2, 48.4 s, mean 42.6 s, paper fold 456.7 s, ratio 0.0933); then the steps'
  and predictors' products with Z through their non-zero columns while those are at most a third
  (the lambda >= 10 fits; the warm ones 8.8-9.3 -> 6.6-7.8 s in an ad-hoc four-draw driver). Tried
  without gain there (ad hoc, four-draw means of both folds' CPU, 42.4 s for the code they started
  from): the intercept of a warm start moved to its exact optimum first (44.3 s: the second offset's
  lambda = 3 fits 0.3-0.7 s slower), coordinate descent alone (no Newton steps) while the working set
  grows (~70 s, stopped after two draws), _WS_GROWTH 4 (44.7, 51.0, 51.5 s, stopped).

* 2026-12-07 afternoon, idle machine, the same design, --skip-cold --perturbations 4, one BLAS thread:
  grid 42.3, 44.0, 48.6, 45.7 s (mean 45.1 s), paper fold 446.3 s: ratio 0.101 (0.095-0.109); against
  the morning's 425 s paper fold, 0.106. Target 0.1: not met. The changes since the entry below:
  _STALL_STEPS 8 -> 4, the scaled matrix filled in tiles, the fits' objectives from their non-zero
  columns. The same code before the last of
  these: 47.1, 41.3, 43.2, 42.4 s (mean 43.5 s), paper fold 442.6 s, ratio 0.0982. With an ad-hoc
  driver of fit_grid (CPU, the four draws' mean): _STALL_STEPS 8 / 5 / 4 / 3 / 2 -> 44.3 / 44.0 / 42.3
  / 42.5 / 45.1 s; without gain: _H_DRIFT 0.1 (44.5 s), a refresh of the Hessian through the stars
  whose curvature moved most (54.6 s), Hessians from the stars carrying 99 % of the curvature (stopped
  after its first draw, 181 s) or 95 % (stopped unfinished after 7.5 min), Z times a step through its
  columns in float64 (57.3 s), a Hessian within 0.1 % of h counted as current (50.6 s).

* 2026-12-07, idle machine (load < 1), ``--design`` on the 100,000-row paper_scale mock (2 x 12,714 /
  12,842 x 7,414), --skip-cold, one BLAS thread; the paper fold took 424.3, 425.6 and 425.4 s (wall =
  CPU) in three runs. The grid, one change at a time: 77.5 s CPU under load 3.5 at 153fc8e (the entry
  below; its lambda = 3 fits 16-17 s CPU idle); 62.7 s with the Newton step of the sub-problem taking
  every coefficient that crosses zero out at once (ratio 0.147); 51.9 s with at most 10 rounds per
  sub-problem and X's moments in blocks (ratio 0.122);
  44.8 s with each later offset's lambdas started from the previous offset's at the same lambda
  (ratio 0.1054; the lambda = 3 fits 9.1 / 6.1 / 8.1 / 5.3 s, 64 % of it). Objective at lambda 30:
  paper 9130.649, path 9015.012 (unchanged). The grid alone (fit_grid per fold, an ad-hoc driver)
  varies by +-5 % between runs of the same code (47.2, 47.2 s where this script read 44.8 s): the
  iteration counts follow float32 round-off. In a fold (cProfile, 23.3 s): the model Hessian 7.4 s
  (building and extending it on the working set at ~100 GFlop/s, the column gathers), gradients 2.7 s,
  Cholesky factors, block solves and block copies 5.5 s, the scaling of X 1.4 s. Two BLAS threads
  (same machine, the solver before these changes): the grid 106 s wall against 62 s on one; the
  paper fold had not finished after 14 minutes (stopped).

* 2026-12-07, the solver of fa2b591, ``--design`` on the 100,000-row paper_scale mock
  (2 x 12,714 / 12,842 training stars x 7,414 features), --skip-cold, load 3.5 -> 3.2: grid 125.3 s
  wall / 77.5 s CPU (the lambda = 3 fits 18.0-26.8 s, 42-44 % of pixels non-zero, 71 % of the wall),
  paper one fold 804.6 s wall / 409.1 s CPU: ratio 0.16 wall, 0.19 CPU. Objective at lambda 30:
  paper 9130.649, path 9015.012. On the 20,000-row mock's design (2 x 2,518 / 2,631 stars): grid
  16.5 s / 8.0 s CPU, paper 123.2 s / 83.5 s: 0.13 wall, 0.096 CPU; objectives 2263.083 / 2035.807.

* 2026-12-07, commit d51d56b (c97e34c only fixes a comment; ridge 1e-7 instead of 1e-5, working set
  grown by |support| / 6 with at most 5 sub-problem rounds while violators remain outside it, the
  cache's weighted columns kept for extensions), all --skip-cold:
  paper size, 05:00-05:17, load 2.2 -> 2.8 plus the project's "not slow" tests running beside the
  paper fold: grid 182.5 s wall / 128.5 s CPU (the lambda = 3 fits 23-46 s each, 72 % of the wall),
  paper one fold 836.4 s wall (inflated by the tests) / 496.0 s CPU: ratio 0.26 CPU (0.23 against
  the 555.5 s CPU of the paper fold measured at 5d69fde), 0.22 wall (not to be trusted here).
  Objective at lambda 30: paper 9028.271, path 9002.851 (unchanged). Half size (--n-stars 7000
  --n-features 3707), 04:50-04:53, load 4.0 -> 3.4: grid 28.2 s wall / 24.1 s CPU (the lambda = 3
  fits 3.7-8.2 s), paper one fold 130.4 s / 112.9 s CPU: ratio 0.22 wall, 0.21 CPU (were 0.27, 0.27);
  objective at lambda 30 paper 4659.541, path 4652.987 (unchanged). Quarter size (--n-stars 3500
  --n-features 1854 --paper-lams 3), 04:59, load 3.1 -> 2.2: grid 2.9 s / 2.7 s CPU, paper 17.6 s /
  17.0 s CPU: ratio 0.17 wall, 0.16 CPU (was 0.19 CPU); objectives unchanged (lambda 30: paper
  2525.119, path 2508.592; lambda 3: paper 1572.412, path 1572.084). In one process on the half-size
  fold A (fit_grid alone, CPU, load ~4-6): 14.2-14.7 s before; 13.7-13.9 s with the kept columns;
  11.6-12.8 s with the ridge too; 10.9, 10.9 s with all three. Every grid objective within 3e-10
  (relative) of the one before. The target (0.1) is not reached.

* 2026-12-07, commit e3315bb (working set grown by |support| / 10 per iteration, the Hessian cache
  extended in place): quarter size (--n-stars 3500 --n-features 1854 --skip-cold --paper-lams 3),
  load 3.2 -> 5.2, 01:21: grid 3.2 s wall / 3.1 s CPU (lambda = 3 fits 0.35-0.64 s each), paper
  one fold 23.0 s / 16.1 s CPU: ratio 0.14 wall, 0.19 CPU. The same day at commit d63c1d3 (before),
  load ~1: grid 5.2 s / 5.1 s CPU, paper 21.7 s / 21.6 s: ratio 0.24 wall, 0.24 CPU. Objectives
  (held-out A, offset 0.048): lambda 30 paper 2525.119, path 2508.592; lambda 3 paper 1572.412,
  path 1572.084.
  Half size (--n-stars 7000 --n-features 3707 --skip-cold, without --paper-lams 3 for lack of
  time), commit 64adcc8 (the same solver), load 2.5 -> 2.7, 01:55: grid 37.3 s wall / 36.1 s CPU
  (the lambda = 3 fits 6.1-6.8 s each, ~70 % of it), paper one fold 136.7 s / 131.8 s CPU: ratio
  0.27 wall, 0.27 CPU. Objective at lambda 30: paper 4659.541, path 4652.987. The grid alone at
  commit d63c1d3 (before; fit_grid on the same data from a driver script), load 2.2 -> 2.8: 54.3 s
  wall / 49.7 s CPU. Paper size not measured.

* 2026-12-06, quarter of each dimension (--n-stars 3500 --n-features 1854 --skip-cold --paper-lams
  3), commit 5a706b6, load 3.7 -> 3.4, 22:37: grid 12.8 s wall / 4.6 s CPU, paper one fold 30.8 s /
  18.5 s CPU: ratio 0.42 wall, 0.25 CPU. Objectives (held-out A, offset 0.048): lambda 30 paper
  2525.119, path 2508.592; lambda 3 paper 1572.412, path 1572.084. Earlier the same day, two BLAS
  threads, load ~8-12: grid 139 s, paper 565 s, ratio 0.25 -- one BLAS thread made both optimizers
  4-18x faster on this loaded machine, not the ratio.
* 2026-12-06, paper size (default sizes, --skip-cold --paper-lams 3), commit c1b79d9 (before the
  cross-term and stalled-Hessian changes), load ~7-10: grid 1313 s wall (fold A 331 s, fold B 982 s,
  of which one lambda = 3 fit took 665 s over 195 outer iterations on a stale Hessian -- the case
  _STALL_STEPS now cuts short); the lambda = 3 fits are ~80 % of the grid. Paper one fold (lambda
  30, load ~2-5) 1137 s, 12,723 evaluations: ratio 1.16 wall (the grid ran under the higher load).
  Objective at lambda 30: paper 9028.271, path 9002.851. (The lambda = 3 paper fit was stopped
  unfinished at the session's deadline.)

* paper size (default sizes, --skip-cold), commit 5d69fde (after the working-set and cache changes),
  2026-12-07, beside a CI run, niced: grid 241.2 s wall / 164.9 s CPU (the lambda = 3 fits 30-66 s
  each, 72 % of the wall), paper one fold 700.6 s / 555.5 s: ratio 0.34 wall, 0.30 CPU. Objective at
  lambda 30: paper 9028.271, path 9002.851.

What the 2026-12-07 (d51d56b) measurements found: the last ~10 outer iterations of a lambda = 3 fit
(a KKT ratio of ~0.65 per step) were set by the ridge, not by the stale Hessian: exact Newton steps
on the current Hessian (conjugate gradients with products Z^T (h * (Z v)), preconditioned by the
stale Hessian's Cholesky factor: 3-5 iterations to a 1e-4 residual, as expected for h drifting
< 20 %) converged no faster, with a float64 gradient too; a step removes only lambda_k /
(lambda_k + ridge) of the error where the Hessian's eigenvalue lambda_k is below the ridge. With the
ridge at 1e-7 those fits take 13-16 iterations instead of 25-26; the conjugate-gradient step was
then dropped (it gained nothing more). Tried without gain (half-size fold A, within the +-7 % noise
or worse): _CD_SWEEPS 2 or 10, _QP_ROUNDS 10 or 12, _H_DRIFT 0.1 or 0.4, _STALL_STEPS 3 or 4, an
inner tolerance of 0.1 x KKT, the support solver's update limit |K| / 3, / 5 or / 20 instead of / 10,
coordinate descent alone (no Newton steps) while the working set grows (40-60 % slower), and each
lambda of the second offset warm-started from the same lambda of the first (a 0.019 mas offset is
8 % of the median parallax: lambda = 3 still took 16-17 iterations). After the change (half size,
fold A, phases timed in process): proximal Newton 10.4 s, of which the sub-problems 6.9 s (Newton
directions on the sign pattern 4.7 s: Cholesky factors 1.8 s, their block updates 2.7 s;
coordinate descent 1.3 s; line searches 0.8 s) and the Hessian cache 2.4 s (was 5.4 s).

Where the grid's time goes at the paper size (py-spy samples, before d51d56b): building and extending the model
Hessian Z^T diag(h) Z on the working set (N |W|^2 with |W| ~ 5,000 of 7,414 at lambda = 3), the
Cholesky factors of its support block, and the slow linear tail of a stale Hessian; the paper's
optimizer needs only products with X (13,100 of them at a quarter of the size). At half size
(cProfile of fold A, 2026-12-07) the lasso sub-problems dominated before commit 4d3b2d8: the
working set then took as many violators as the support held, and the first five iterations of a
lambda = 3 fit each ran the sub-problem's 30-round limit (6.8 of its 8.2 s) with Cholesky factors
of a support changing by hundreds of pixels. After it (15.4 s in _prox_newton): building
and extending the cached Hessian 40 %, the sub-problems 50 % (Cholesky factors, their solves and
block copies 30 %). A matrix-free inner solver (products Z_W^T (h * (Z_W v)), 2 N |W| flops
against N |W|^2 to form the Hessian) pays only if a sub-problem needs fewer than ~|W| / 2 such
products. Measured 2026-12-07 (half size, one thread): one product through Z costs ~2-3 explicit
|W| x |W| Hessian products (memory-bound, N / |W| ~ 3), a Hessian build ~35 products, and the
sub-problems' coordinate descent needs the Hessian's columns; as the tail's Newton solver (above)
it converged in 3-5 products but did not shorten the fit.

The last line printed is one JSON object with the figures.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

# The BLAS thread count is fixed before numpy/scipy load OpenBLAS, for both optimizers alike. On
# this shared 2-core machine (load 5-10) multithreaded OpenBLAS spins its threads against the
# other jobs: a 3000 x 3000 Cholesky took 1.1-1.6 s on one thread and 5.8-9.3 s on two, and the
# quarter-size grid 16 s on one against 104 s on two (2026-12-06). A train job in the workflow
# gets its count the same way, from Snakemake (OPENBLAS_NUM_THREADS = the rule's threads).
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--blas-threads", type=int, default=1)
BLAS_THREADS = _pre.parse_known_args()[0].blas_threads
if BLAS_THREADS > 0:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(BLAS_THREADS)

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from spectroparallax.model.exp_linear import fit, fit_grid, objective  # noqa: E402
from spectroparallax.model.paper_optimizer import fit_baseline  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import synthetic_training_set  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"


def workflow_design(run: Path):
    """The training design of a finished workflow folder ``run`` (results/<survey>/features and
    samples/parent.fits, as rule train reads them): {held-out fold: (X of the other folds' training
    stars, their Gaia parallax [mas] without offset, 1 / error^2)}, and the penalized mask. Gaia DR2
    parallaxes as they are (no L21 zero point: the mock is DR2)."""
    from astropy.table import Table

    from spectroparallax.model.training import fold_training_data

    results = next((run / "results").iterdir())
    X = np.load(results / "features/X.npy", mmap_mode="r")
    index = Table.read(results / "features/features.ecsv")
    parent = Table.read(results / "samples/parent.fits")
    data = {}
    for fold in sorted(set(np.asarray(parent["fold"], str).tolist())):
        rows, parallax, error = fold_training_data(parent, fold, l21=False)
        data[fold] = (np.ascontiguousarray(X[rows]), parallax, 1.0 / error ** 2)
    return data, np.asarray(index["penalized"], bool)


def main():
    model = yaml.safe_load(CONFIG.read_text())["model"]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-stars", type=int, default=14000, help="training stars per fold (HER19: ~14,000)")
    ap.add_argument("--n-features", type=int, default=7414, help="columns of X (HER19: 7,414)")
    ap.add_argument("--lambdas", type=float, nargs="+", default=model["lambda_grid"],
                    help="the grid's lambdas (default config.yaml model.lambda_grid)")
    ap.add_argument("--offsets", type=float, nargs="+", default=model["offset_grid"],
                    help="the grid's offsets [mas] (default config.yaml model.offset_grid)")
    ap.add_argument("--paper-lam", type=float, default=model["paper_lambda"])
    ap.add_argument("--paper-offset", type=float, default=model["reference_offset"],
                    help="offset [mas] of the paper-optimizer fold (must be in --offsets)")
    ap.add_argument("--burn-in-snr", type=float, default=model["burn_in_snr"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--design", type=Path, default=None,
                    help="a workflow's folder (e.g. a paper-size mock run): take its training stars' design matrix, "
                         "Gaia parallaxes and errors, folds and penalized mask instead of the synthetic set "
                         "(--n-stars and --n-features are then ignored)")
    ap.add_argument("--skip-cold", action="store_true", help="do not time the grid cold")
    ap.add_argument("--paper-lams", type=float, nargs="*", default=[],
                    help="further lambdas at which to run the paper's optimizer (objectives compared, not timed)")
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="OpenBLAS threads for both optimizers (0: the library's default, one per core)")
    ap.add_argument("--perturbations", type=int, default=1,
                    help="time the grid this many times, the k-th with the parallaxes scaled by 1 + e_k, e = 0, "
                         "1e-9, -1e-9, 2e-9, ...: the iteration counts follow float32 round-off, so one run is one "
                         "draw; the ratio uses the mean wall time (the objectives are the unperturbed run's)")
    a = ap.parse_args()
    load_start = os.getloadavg()[0]
    if not np.isclose(a.offsets, a.paper_offset).any() or not np.isclose(a.lambdas, a.paper_lam).any():
        raise SystemExit(f"--paper-lam {a.paper_lam} and --paper-offset {a.paper_offset} must be in the grid "
                         f"(lambdas {a.lambdas}, offsets {a.offsets}) so the objectives can be compared")

    t = time.perf_counter()
    if a.design is None:
        X, y0, ivar, pen, _ = synthetic_training_set(2 * a.n_stars, a.n_features, a.seed)
        half = np.arange(2 * a.n_stars) < a.n_stars
        train_rows = {"A": np.flatnonzero(~half), "B": np.flatnonzero(half)}   # held-out fold -> training rows
        data = {fold: (np.ascontiguousarray(X[rows]), y0[rows], ivar[rows]) for fold, rows in train_rows.items()}
        del X
    else:
        data, pen = workflow_design(a.design)
        a.n_stars, a.n_features = max(len(d[1]) for d in data.values()), pen.size
    source = "synthetic" if a.design is None else str(a.design)
    print(f"problem ({source}): 2 folds x {', '.join(str(len(d[1])) for d in data.values())} training stars x "
          f"{a.n_features} features; lambdas {a.lambdas}, offsets {a.offsets} ({time.perf_counter() - t:.1f} s to "
          "build)", flush=True)

    def lam_key(lam):
        return float(lam)

    # The project's grid as a path (once per perturbation), and cold.
    warm, cold = {}, {}
    scales = [0.0] + [sign * k * 1e-9 for k in range(1, a.perturbations) for sign in (1, -1)][: a.perturbations - 1]
    walls, cpus = [], []
    for e in scales:
        t_warm, c_warm = time.perf_counter(), time.process_time()
        for fold, (Xf, yf, ivf) in data.items():
            for (lam, off), res in fit_grid(Xf, yf * (1 + e), ivf, pen, a.lambdas, a.offsets, a.burn_in_snr).items():
                if e == 0.0:
                    warm[fold, lam_key(lam), off] = res
                print(f"path  held-out {fold} offset {off:g} lambda {lam:>6g} (y x (1 {e:+.0e})): {res.time:7.2f} s "
                      f"{'cold' if res.burn_in is not None else 'warm'}  objective {res.objective:.6f}  "
                      f"{res.n_iter} iterations  zeros {res.zero_fraction:.3f}  converged {res.converged}  "
                      f"kkt {res.kkt_violation:.3g}", flush=True)
        walls.append(time.perf_counter() - t_warm)
        cpus.append(time.process_time() - c_warm)
        print(f"grid with y x (1 {e:+.0e}): {walls[-1]:.1f} s wall, {cpus[-1]:.1f} s CPU", flush=True)
    t_warm, c_warm = float(np.mean(walls)), float(np.mean(cpus))
    t_cold = float("nan")
    if not a.skip_cold:
        t_cold = time.perf_counter()
        for fold, (Xf, yf, ivf) in data.items():
            for off in a.offsets:
                for lam in sorted(a.lambdas, reverse=True):
                    res = fit(Xf, yf + off, ivf, pen, lam, a.burn_in_snr)
                    cold[fold, lam_key(lam), off] = res
                    print(f"cold  held-out {fold} offset {off:g} lambda {lam:>6g}: {res.time:7.2f} s       "
                          f"objective {res.objective:.6f}  {res.n_iter} iterations  converged {res.converged}",
                          flush=True)
        t_cold = time.perf_counter() - t_cold

    # One fold of the paper's optimizer at the paper's lambda.
    fold = "A"
    Xf, yf, ivf = data[fold]
    off = next(o for o in a.offsets if np.isclose(o, a.paper_offset))
    c_paper = time.process_time()
    paper = fit_baseline(Xf, yf + off, ivf, pen, a.paper_lam, a.burn_in_snr)
    c_paper = time.process_time() - c_paper
    ours = warm[fold, lam_key(a.paper_lam), off]
    print(f"paper held-out {fold} offset {off:g} lambda {a.paper_lam:g}: {paper.time:7.2f} s  objective "
          f"{paper.objective:.6f}  {paper.n_iter} evaluations  converged {paper.converged}: {paper.message}",
          flush=True)
    # the same objective recomputed from both thetas on the same data
    f_paper = objective(paper.theta, Xf, yf + off, ivf, pen, a.paper_lam)
    f_ours = objective(ours.theta, Xf, yf + off, ivf, pen, a.paper_lam)
    per_lambda = {f"{a.paper_lam:g}": {"paper": f_paper, "path": f_ours}}
    for lam in a.paper_lams:
        if not np.isclose(a.lambdas, lam).any():
            raise SystemExit(f"--paper-lams {lam} is not in the grid {a.lambdas}")
        other = fit_baseline(Xf, yf + off, ivf, pen, lam, a.burn_in_snr)
        f_p = objective(other.theta, Xf, yf + off, ivf, pen, lam)
        f_o = objective(warm[fold, lam_key(lam), off].theta, Xf, yf + off, ivf, pen, lam)
        per_lambda[f"{lam:g}"] = {"paper": f_p, "path": f_o}
        print(f"paper held-out {fold} offset {off:g} lambda {lam:g}: {other.time:7.2f} s  objective {f_p:.6f} "
              f"(path {f_o:.6f}, lower by {f_p - f_o:.6g})  converged {other.converged}", flush=True)

    rel = [abs(warm[k].objective - cold[k].objective) / abs(cold[k].objective) for k in cold]
    dtheta = [float(np.max(np.abs(warm[k].theta - cold[k].theta))) for k in cold]
    ratio = t_warm / paper.time
    print(f"grid ({len(warm)} settings) as a path: {t_warm:.1f} s (mean of {len(walls)}: "
          f"{', '.join(f'{w:.1f}' for w in walls)}); cold: {t_cold:.1f} s; paper one fold: "
          f"{paper.time:.1f} s; ratio grid / paper = {ratio:.4f} (target <= 0.1); warm/cold speedup "
          f"{t_cold / t_warm:.2f}; CPU time: grid {c_warm:.1f} s, paper {c_paper:.1f} s, ratio {c_warm / c_paper:.4f}")
    print(f"lambda {a.paper_lam:g}, held-out {fold}, offset {off:g}: objective paper {f_paper:.6f}, path "
          f"{f_ours:.6f} (path lower by {f_paper - f_ours:.6g})")
    out = dict(
        design=source, n_stars_per_fold=a.n_stars, n_features=a.n_features, lambdas=sorted(a.lambdas, reverse=True),
        offsets=a.offsets, n_settings=len(warm), seconds_grid_path=round(t_warm, 2),
        seconds_grid_cold=round(t_cold, 2), seconds_paper_one_fold=round(paper.time, 2),
        ratio_grid_over_paper=round(ratio, 5), cpu_seconds_grid_path=round(c_warm, 2),
        seconds_grid_path_each=[round(w, 2) for w in walls], perturbations=scales,
        ratio_grid_over_paper_min=round(min(walls) / paper.time, 5),
        ratio_grid_over_paper_max=round(max(walls) / paper.time, 5),
        cpu_seconds_paper_one_fold=round(c_paper, 2), cpu_ratio_grid_over_paper=round(c_warm / c_paper, 5),
        speedup_warm_over_cold=round(t_cold / t_warm, 3),
        objective_paper=f_paper, objective_path=f_ours, paper_converged=paper.converged,
        objectives_heldout_A_by_lambda=per_lambda,
        path_converged=all(r.converged for r in warm.values()),
        max_rel_objective_diff_warm_cold=max(rel) if rel else None,
        max_abs_theta_diff_warm_cold=max(dtheta) if dtheta else None,
        blas_threads=BLAS_THREADS, load_average_start=round(load_start, 2),
        load_average_end=round(os.getloadavg()[0], 2), date=time.strftime("%Y-%m-%d %H:%M"),
        seconds_per_setting_path={f"{k[0]}/{k[1]:g}/{k[2]:g}": round(r.time, 3) for k, r in warm.items()},
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
