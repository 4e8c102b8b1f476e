"""Are the quoted uncertainties right? The catalog against the mock's truth, two seeds, both modes (issue 20).

For each seed (default two the project's tests never use) and each mode, runs this checkout's
workflow on a mock of --n-stars allStar rows (default 20,000: ~2,500 training stars per fold
calibrate the errors of the other; the default 4,000-row mock gives ~500, and the widths below move
by ~0.1 from seed to seed there) with --cluster-members per cluster (default 60, so a cluster's
scatter is measured to ~+-0.1 rather than ~+-0.3 with the mock's default 15), through the catalog
and the cluster members, then prints:

- ``width_truth``: robust width (half the 16-84 percentile range) of (true - spec) / spec_err over
  every parent star with finite values; ``width_truth_snr_<k>``: the same in each tercile of APOGEE
  S/N (1 lowest); ``width_truth_logg_<lo>_<hi>`` and ``width_truth_feh_<lo>_<hi>``: in bins of
  ASPCAP logg and [Fe/H]; 1.00 means the uncertainties are right;
- ``width_gaia_training``: robust width of (Gaia - spec) / sqrt(sigma_Gaia^2 + sigma_spec^2) over the
  training stars (what a user without the truth can check; Gaia's error dominates it for faint stars);
- ``scatter_truth`` and ``bias_truth``: robust scatter and median of spec / true - 1 over the
  training stars;
- ``eq5_phot_share`` (``_snr_3``): median over parent stars (in the highest S/N tercile) of the
  fraction of eq. 5's variance that comes from the photometric coefficients
  (catalog.calibration.eq5_variance_share with each star's held-out model);
- ``phot_noise_width``: robust width, over parent stars, of the photometric noise the model really
  passes on, theta_phot . (observed - true magnitudes) [ln mas], over eq. 5's photometric part
  sqrt(sum theta_j^2 sigma_j^2): 1.00 means eq. 5's photometric term is the real noise, not an
  inflation; ``phot_noise_scatter``: the robust scatter of that noise itself;
- ``s_<fold>``, ``epsilon_<fold>`` (``epsilon_err_<fold>``), ``b_<covariate>_<power>_<fold>`` (``_err``):
  the calibration applied to each fold (catalog/calibration.csv; improved mode only; the b are the
  coefficients of ln epsilon's polynomial in each of calibration.epsilon_covariates);
- ``two_param_s``, ``two_param_epsilon``, ``two_param_s_epsilon_correlation``: the fit of s and a
  constant epsilon together on all training stars (calibration.fit_scale true), and the correlation
  of the two in it (inverse Hessian): why s is held at 1;
- ``cluster_<name>_scatter`` (``_err``): the members' scatter over their quoted errors about their own
  weighted mean (clusters/check.csv members_scatter, bootstrap error); ``cluster_<name>_ratio``
  (``_err``): the robust width of (spec - true) / spec_err over the members (a width about their
  median: an error the members share does not widen it); ``cluster_<name>_truth_offset``: the median
  of (spec - true) / spec_err over the members, the error they share in units of their quoted errors;
  ``cluster_<name>_offset`` and ``cluster_<name>_total`` (``_err``): check.csv members_offset and
  members_total, the same offset against the cluster's parallax and sqrt(width^2 + offset^2), which
  tests the total error (members_scatter falls below 1 by the share of the error the members have
  in common; one cluster is one draw of that share); ``cluster_<name>_mean_offset``: weighted mean
  spec / cluster parallax - 1, ``cluster_<name>_pull`` its pull; ``cluster_<name>_training_range``;
  ``clusters_pooled_scatter``, ``clusters_pooled_ratio`` (and ``_err``): over every cluster's members
  together; ``clusters_inside_scatter`` (``_err``): the scatter over the members of the clusters whose
  training_range is "inside" together; ``clusters_inside_total`` (``_err``): the quadratic mean of
  those clusters' members_total (its square averages to 1 over clusters if the errors are right);
- ``<mode>_all_seeds`` (with more than one seed): ``clusters_inside_scatter`` (``_err``) over the
  members of every seed's clusters inside the training range together, and ``clusters_inside_total``
  (``_err``), the quadratic mean of all those clusters' members_total: one cluster in one seed is
  one draw of what its members share, so a single seed's figures move by ~0.1-0.2;
- ``constant_*`` and ``logg1_*``: with scatter covariates (calibration.epsilon_covariates), the same
  widths and cluster scatters and totals with one constant epsilon and with ln epsilon linear in logg alone
  (the previous default) instead, cross-fitted here on the same predictions: what the trend, and
  what [Fe/H] in it, change.

    python benchmarks/uncertainty_calibration.py --workdir /scratch/unc [--seeds 1234 2027] [--modes improved paper]
        [--n-stars 20000] [--cluster-members 60] [--config-override switches.photometry_basis=magnitudes]

Runs are reused from --workdir (one folder per seed and mode; Snakemake reruns what changed).
About 6 minutes per run from scratch on 2 cores at 20,000 rows (3 at 4,000). Run it with the package of this checkout importable by
an absolute path (PYTHONPATH=$PWD/src, or an editable install): the workflow runs inside --workdir. Last line: one JSON object.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml
from astropy.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mock_accuracy  # noqa: E402

from spectroparallax.archives.columns import as_float  # noqa: E402
from spectroparallax.catalog import calibration, clusters, stats  # noqa: E402
from spectroparallax.mock import truth as mock_truth  # noqa: E402

TARGETS = ("catalog", "results/mock/clusters/members.ecsv")
#: ASPCAP logg bins [dex] of the widths against the truth (the parent sample is 0 < logg <= 2.2).
LOGG_BINS = ((0.0, 0.8), (0.8, 1.2), (1.2, 1.6), (1.6, 2.2))
#: ASPCAP [Fe/H] bins [dex]: the metal-poor giants (M107 and M71 are at -1.0 and -0.8) are rare in
#: the training set, and the linear model is worst for them.
FEH_BINS = ((-3.0, -0.8), (-0.8, -0.5), (-0.5, -0.2), (-0.2, 0.1), (0.1, 1.0))


def _width(z):
    z = np.asarray(z, float)
    z = z[np.isfinite(z)]
    return stats.robust_scatter(z) if z.size else float("nan")


def measure(workdir: Path) -> dict:
    cat = Table.read(workdir / "results/mock/catalog/spectrophotometric_parallaxes.fits")
    parent = Table.read(workdir / "results/mock/samples/parent.fits")
    truth_path = workdir / "resources/mock/truth.fits"
    cat["row"] = np.arange(len(cat))
    cat["SNR"] = np.asarray(parent["SNR"], float)     # the catalog has the Parent Sample's rows, in order
    joined = mock_truth.with_true_parallax(cat, truth_path)
    joined.sort("row")
    a = stats.catalog_arrays(joined)
    true = np.asarray(joined["parallax_true"], float)
    snr = np.asarray(joined["SNR"], float)
    ok = np.isfinite(a["spec"]) & (a["spec_err"] > 0) & np.isfinite(true)
    pull = (true - a["spec"]) / a["spec_err"]
    out = {"error_model": cat.meta.get("ERRMODEL", "eq5"), "n_parent": int(ok.sum()), "width_truth": _width(pull[ok])}
    edges = np.quantile(snr[ok], [1 / 3, 2 / 3])
    tercile = np.digitize(snr, edges)
    for k in range(3):
        out[f"width_truth_snr_{k + 1}"] = _width(pull[ok & (tercile == k)])
    # The same by ASPCAP logg: the linear model is worst for the rarest, most luminous giants.
    logg, feh = as_float(parent["LOGG"]), as_float(parent["FE_H"])
    out.update(_binned_widths("width_truth", pull, ok, logg, feh))
    train = a["training"] & ok & np.isfinite(a["gaia"])
    out["width_gaia_training"] = _width(stats.normalized_residuals(a["gaia"][train], a["gaia_err"][train],
                                                                   a["spec"][train], a["spec_err"][train]))
    ratio = a["spec"][a["training"] & ok] / true[a["training"] & ok] - 1
    out["scatter_truth"], out["bias_truth"] = stats.robust_scatter(ratio), stats.median_or_nan(ratio)
    out.update(_photometry(workdir, np.asarray(cat["2MASS_ID"]), ok, tercile == 2))
    for row in Table.read(workdir / "results/mock/catalog/calibration.csv"):
        if row["error_model"] == "calibrated":
            fold = row["fold"]
            out[f"s_{fold}"], out[f"epsilon_{fold}"] = float(row["s"]), float(row["epsilon"])
            out[f"epsilon_err_{fold}"] = float(row["epsilon_err"])
            for name in row.colnames:
                if name.startswith("b_"):
                    key = name[:-4] + f"_{fold}_err" if name.endswith("_err") else f"{name}_{fold}"
                    out[key] = float(row[name])
    if out["error_model"] == "calibrated":
        out.update(_scale_scatter_correlation(a, as_float(joined["spec_parallax_err_eq5"]), train & ok))
    if "ERRCOV" in cat.meta:
        for label, trend in (("constant", {}), ("logg1", {"LOGG": 1})):
            out.update(_refit(label, trend, joined, parent, a, true, ok, tercile, logg, feh, workdir))
    members = mock_truth.with_true_parallax(Table.read(workdir / "results/mock/clusters/members.ecsv"), truth_path)
    checks = {r["cluster"]: r for r in Table.read(workdir / "results/mock/clusters/check.csv")}
    pooled, spreads, inside, inside_totals = [], [], [], []
    for name in sorted(set(np.asarray(members["cluster"], str).tolist())):
        m = members[np.asarray(members["cluster"], str) == name]
        spec, err = as_float(m["spec_parallax"]), as_float(m["spec_parallax_err"])
        pulls = (spec - np.asarray(m["parallax_true"], float)) / err
        out[f"cluster_{name}_ratio"] = _width(pulls)
        out[f"cluster_{name}_ratio_err"] = stats.robust_scatter_err(pulls)
        out[f"cluster_{name}_truth_offset"] = stats.median_or_nan(pulls)
        out[f"cluster_{name}_n"] = int(np.isfinite(spec).sum())
        row = checks[name]
        out[f"cluster_{name}_scatter"], out[f"cluster_{name}_scatter_err"] = (float(row["members_scatter"]),
                                                                              float(row["members_scatter_err"]))
        out[f"cluster_{name}_offset"] = float(row["members_offset"])
        out[f"cluster_{name}_total"], out[f"cluster_{name}_total_err"] = (float(row["members_total"]),
                                                                          float(row["members_total_err"]))
        out[f"cluster_{name}_pull"] = float(row["pull"])
        out[f"cluster_{name}_mean_offset"] = float(row["spec_parallax_mean"] / row["cluster_parallax"] - 1)
        out[f"cluster_{name}_training_range"] = str(row["training_range"])
        pooled.append(pulls)
        spreads.append((spec - row["spec_parallax_mean"]) / err)
        if row["training_range"] == "inside":
            inside.append(spreads[-1])
            inside_totals.append((float(row["members_total"]), float(row["members_total_err"])))
    # All clusters' members together: one width with a usable error.
    pooled = np.concatenate(pooled) if pooled else np.array([])
    spreads = np.concatenate(spreads) if spreads else np.array([])
    out["clusters_pooled_ratio"], out["clusters_pooled_ratio_err"] = _width(pooled), stats.robust_scatter_err(pooled)
    out["clusters_pooled_scatter"], out["clusters_pooled_scatter_err"] = (_width(spreads),
                                                                          stats.robust_scatter_err(spreads[np.isfinite(spreads)]))
    # The target is for the clusters inside the training set's range: their members together.
    inside = np.concatenate(inside) if inside else np.array([])
    inside = inside[np.isfinite(inside)]
    alone = pooled_over_seeds([(inside, inside_totals)])
    for key in ("clusters_inside_scatter", "clusters_inside_scatter_err", "clusters_inside_total",
                "clusters_inside_total_err"):
        out[key] = alone[key]
    return out, (inside, inside_totals)


def pooled_over_seeds(insides) -> dict:
    """The clusters inside the training range over several runs (seeds) together: one cluster in one
    seed is one draw of the error its members share, so a single run's scatter and total move by
    ~0.1-0.2. ``insides``: each run's (members' spreads about their own weighted mean over their
    errors, [(members_total, its error)]) from :func:`measure`."""
    spreads = np.concatenate([s for s, _ in insides]) if insides else np.array([])
    spreads = spreads[np.isfinite(spreads)]
    totals = [t for _, ts in insides for t in ts]
    total, total_err = _quadratic_mean(totals)
    return {"runs": len(insides), "members": int(spreads.size), "clusters": len(totals),
            "clusters_inside_scatter": _width(spreads),
            "clusters_inside_scatter_err": stats.robust_scatter_err(spreads) if spreads.size > 2 else float("nan"),
            "clusters_inside_total": total, "clusters_inside_total_err": total_err}


def _quadratic_mean(values_errors) -> tuple[float, float]:
    """sqrt(mean t^2) of the clusters' members_total t and its error from theirs (first order):
    the square of members_total averages to 1 over clusters if the quoted errors are right."""
    if not values_errors:
        return float("nan"), float("nan")
    t, e = np.array(values_errors, float).T
    q = float(np.sqrt(np.mean(t ** 2)))
    return q, float(np.sqrt(np.sum((t * e) ** 2)) / (t.size * q))


def _binned_widths(prefix, pull, ok, logg, feh) -> dict:
    out = {}
    for lo, hi in LOGG_BINS:
        out[f"{prefix}_logg_{lo:g}_{hi:g}"] = _width(pull[ok & (logg > lo) & (logg <= hi)])
    for lo, hi in FEH_BINS:
        out[f"{prefix}_feh_{lo:g}_{hi:g}"] = _width(pull[ok & (feh > lo) & (feh <= hi)])
    return out


def _refit(label, trend, joined, parent, a, true, ok, tercile, logg, feh, workdir) -> dict:
    """The same widths with another scatter trend (``trend``: column -> degree, as
    calibration.epsilon_covariates; {} = one constant epsilon), refitted here on the same held-out
    predictions with the package's cross-fit: what the configured trend changes. ``<label>_*`` keys."""
    names = tuple(trend)
    covariates = calibration.covariate_columns(parent, names, "parent.fits") if names else None
    err, _ = calibration.cross_fit(parent["fold"], a["gaia"], a["gaia_err"], a["spec"],
                                   as_float(joined["spec_parallax_err_eq5"]), a["training"],
                                   covariates=covariates, names=names, degrees=tuple(trend.values()))
    pull = (true - a["spec"]) / err
    out = {f"{label}_width_truth": _width(pull[ok])}
    for k in range(3):
        out[f"{label}_width_truth_snr_{k + 1}"] = _width(pull[ok & (tercile == k)])
    out.update(_binned_widths(f"{label}_width_truth", pull, ok, logg, feh))
    members = Table.read(workdir / "results/mock/clusters/members.ecsv")
    checks = {r["cluster"]: r for r in Table.read(workdir / "results/mock/clusters/check.csv")}
    row_of = {k: i for i, k in enumerate(np.asarray(joined["2MASS_ID"], str).tolist())}
    spreads, inside, inside_totals = [], [], []
    for name in sorted(set(np.asarray(members["cluster"], str).tolist())):
        rows = np.array([row_of[k] for k in np.asarray(members["2MASS_ID"], str)[np.asarray(members["cluster"], str) == name]])
        rows = rows[ok[rows]]
        spread = (a["spec"][rows] - clusters.weighted_mean(a["spec"][rows], err[rows])[0]) / err[rows]
        out[f"{label}_cluster_{name}_scatter"] = _width(spread)
        total = clusters.total_width((a["spec"][rows] - checks[name]["cluster_parallax"]) / err[rows])
        out[f"{label}_cluster_{name}_total"] = total
        spreads.append(spread)
        if checks[name]["training_range"] == "inside":
            inside.append(spread)
            inside_totals.append((total, 0.0))
    out[f"{label}_clusters_pooled_scatter"] = _width(np.concatenate(spreads)) if spreads else float("nan")
    out[f"{label}_clusters_inside_scatter"] = _width(np.concatenate(inside)) if inside else float("nan")
    out[f"{label}_clusters_inside_total"] = _quadratic_mean(inside_totals)[0]
    return out


def _scale_scatter_correlation(a, spec_err_eq5, train) -> dict:
    """Why s is held at 1: the correlation of s and epsilon in the two-parameter fit (the inverse
    Hessian of -ln L at its optimum) on all training stars' held-out predictions, and that fit's s
    and epsilon. Near -1 means the data cannot tell a larger eq. 5 from a larger scatter."""
    gaia, gaia_err, spec = a["gaia"][train], a["gaia_err"][train], a["spec"][train]
    err5 = spec_err_eq5[train]
    cal = calibration.fit(gaia, gaia_err, spec, err5, fit_scale=True)
    p = np.array([cal.s, max(cal.epsilon, 1e-4)])
    nll = lambda q: calibration.negative_log_likelihood((q[0], q[1], cal.f), gaia - spec, gaia_err, spec,  # noqa: E731
                                                        err5, 10.0)
    cov = np.linalg.inv(calibration._hessian(nll, p, 1e-3 * p))
    return {"two_param_s": cal.s, "two_param_epsilon": cal.epsilon,
            "two_param_s_epsilon_correlation": float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))}


def _photometry(workdir: Path, ids, ok, high) -> dict:
    """How much of eq. 5 the photometric coefficients make, and whether that part is real noise:
    the median share of eq. 5's variance from the photometric columns over ``ok`` and ``ok & high``,
    and the photometric noise each star's held-out model passes on (from its observed minus its true
    magnitudes) against eq. 5's photometric part (``ids``: the parent stars' 2MASS_IDs, in order)."""
    res = workdir / "results/mock"
    best = yaml.safe_load((res / "crossval/best.yaml").read_text())
    folds = np.asarray(Table.read(res / "samples/parent.fits")["fold"], str)
    X = np.load(res / "features/X.npy", mmap_mode="r")
    X_err = np.load(res / "features/X_err.npy", mmap_mode="r")
    features = Table.read(res / "features/features.ecsv")
    phot = np.asarray(features["kind"], str) == "photometry"
    bands = np.asarray(features["name"], str)[phot]
    truth = Table.read(workdir / "resources/mock/truth.fits")
    truth = truth[~np.asarray(truth["is_duplicate_row"], bool)]
    where = {k: i for i, k in enumerate(np.char.strip(np.asarray(truth["APOGEE_ID"], str)).tolist())}
    rows = np.array([where.get(k, -1) for k in np.char.strip(np.asarray(ids, str)).tolist()])
    true_mags = np.column_stack([np.asarray(truth[f"{b}_true"], float)[rows] for b in bands])
    true_mags[rows < 0] = np.nan
    share, noise, quoted = (np.full(folds.size, np.nan) for _ in range(3))
    for fold in sorted(set(folds.tolist())):
        theta = np.asarray(Table.read(res / f"models/heldout_{fold}/lambda_{best['lambda']}_offset_{best['offset']}"
                                      ".fits")["theta"], float)
        mine = folds == fold
        share[mine] = calibration.eq5_variance_share(theta, X_err[mine], phot)
        noise[mine] = (np.asarray(X[mine][:, phot], float) - true_mags[mine]) @ theta[phot]
        quoted[mine] = np.sqrt(np.square(np.asarray(X_err[mine][:, phot], float)) @ theta[phot] ** 2)
    return {"eq5_phot_share": float(np.nanmedian(share[ok])), "eq5_phot_share_snr_3": float(np.nanmedian(share[ok & high])),
            "phot_noise_width": _width(noise[ok] / quoted[ok]), "phot_noise_scatter": _width(noise[ok])}


def _print_figures(label, figures):
    print(f"{label}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()),
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1234, 2027])
    ap.add_argument("--modes", nargs="+", choices=["improved", "paper"], default=["improved", "paper"])
    ap.add_argument("--n-stars", type=int, default=20000)
    ap.add_argument("--cluster-members", type=int, default=60)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--config-override", action="append", default=[], metavar="KEY=VALUE",
                    help="a config key for every run, e.g. switches.photometry_basis=magnitudes (YAML value)")
    args = ap.parse_args()
    overrides = {key: yaml.safe_load(value) for key, value in (o.split("=", 1) for o in args.config_override)}
    results, insides = {}, {}
    for seed in args.seeds:
        for mode in args.modes:
            work = args.workdir / f"{mode}_seed{seed}"
            mock_accuracy.build(work, args.n_stars, None, None, args.cores, seed, mode=mode,
                                mock={"cluster_members": args.cluster_members}, targets=TARGETS,
                                overrides=overrides)
            results[f"{mode}_seed{seed}"], inside = measure(work)
            insides.setdefault(mode, []).append(inside)
            _print_figures(f"{mode:8s} seed {seed}", results[f"{mode}_seed{seed}"])
    if len(args.seeds) > 1:
        for mode, runs in insides.items():
            results[f"{mode}_all_seeds"] = pooled_over_seeds(runs)
            _print_figures(f"{mode:8s} seeds {' '.join(map(str, args.seeds))} together", results[f"{mode}_all_seeds"])
    print(json.dumps({run: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}
                      for run, figures in results.items()}))


if __name__ == "__main__":
    main()
