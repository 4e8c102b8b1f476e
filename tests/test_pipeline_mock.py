"""The workflow end to end on a small mock survey, checked against the mock's truth.

One Snakemake run (the session fixture mock_run in conftest.py, shared with the figure tests) on
the default mock survey (config.yaml's mock section, as users get it) from the simulator to the
catalog; the tests then compare the cut-flow, the samples, the normalized spectra and the catalog
with resources/mock/truth.fits.
"""

import numpy as np
import pytest
import yaml
from astropy.table import Table, join

from spectroparallax.archives import sas
from spectroparallax.catalog import stats
from spectroparallax.sample import folds
from spectroparallax.spectra import apogee_grid
from spectroparallax.mock import spectra as mock_spectra
from spectroparallax.mock import true_normalized_flux


@pytest.fixture(scope="module")
def run(mock_run):
    """The workflow run on the default mock survey through the catalog (conftest.mock_run)."""
    return mock_run


def _cutflow(work, sample="parent"):
    table = Table.read(work / "results/mock/samples/cutflow.csv")
    return {row["cut"]: row["removed"] for row in table if row["sample"] == sample}


def _removed(flow, prefix):
    (n,) = [v for k, v in flow.items() if k.startswith(prefix)]
    return n


def test_cutflow_agrees_with_the_truth(run):
    work, cfg = run
    truth = Table.read(work / "resources/mock/truth.fits")
    allstar = Table.read(work / "resources/mock/allstar.fits")
    flow = _cutflow(work)
    n_stars = cfg["mock"]["n_stars"]
    assert flow["allStar rows"] == 0 and len(truth) == n_stars

    in_logg = join(allstar["APOGEE_ID", "LOCATION_ID", "EXTRATARG"], truth, keys=["APOGEE_ID", "LOCATION_ID"])
    assert _removed(flow, "logg outside") == n_stars - len(in_logg)

    # Repeat observations: the mock observed some stars twice (truth is_duplicate_row: the second
    # row); EXTRATARG bit 4 marks, of each such star, the row with the lower S/N. Improved mode drops
    # exactly the flagged rows in the logg range, which leaves every star one row.
    layout = sas.layout(cfg["mock"]["release"], cfg["apogee"]["versions"], lite=cfg["apogee"]["allstar_lite"])
    full = Table.read(work / "resources/mock/sas" / sas.allstar_relpath(layout), hdu=1)
    flagged = (np.asarray(full["EXTRATARG"]) & 16) > 0
    repeated = np.asarray(truth["APOGEE_ID"])[np.asarray(truth["is_duplicate_row"], bool)]
    assert flagged.sum() == len(repeated) and set(np.asarray(full["APOGEE_ID"])[flagged]) == set(repeated)
    snr = {}
    for a, f, v in zip(full["APOGEE_ID"], flagged, np.asarray(full["SNR"], float)):
        snr.setdefault(a, {})[f] = v
    assert all(pair[True] <= pair[False] for pair in snr.values() if True in pair)
    flagged_in_logg = (np.asarray(in_logg["EXTRATARG"]) & 16) > 0
    assert _removed(flow, "non-primary duplicate row") == flagged_in_logg.sum() > 0
    in_logg = in_logg[~flagged_in_logg]
    status = np.char.strip(np.asarray(in_logg["spectrum_status"], dtype=str))
    assert _removed(flow, "no readable spectrum") == (status != "ok").sum() > 0

    readable = in_logg[status == "ok"]
    n_unique = len(np.unique(readable["APOGEE_ID"]))
    assert _removed(flow, "repeat observation") == len(readable) - n_unique == 0

    # One row per star is left (its highest-S/N row); those without Gaia are exactly the truth's.
    with_snr = join(readable, allstar["APOGEE_ID", "LOCATION_ID", "SNR"], keys=["APOGEE_ID", "LOCATION_ID"])
    by_snr = with_snr[np.argsort(-np.asarray(with_snr["SNR"], float), kind="stable")]
    kept = by_snr[np.unique(np.asarray(by_snr["APOGEE_ID"]), return_index=True)[1]]
    in_gaia = np.asarray(kept["in_gaia"], bool)
    assert _removed(flow, "no Gaia DR2 source") == (~in_gaia).sum()

    # The photometry cuts, in the cut-flow's order, remove exactly the stars the truth made
    # incomplete (2MASS gaps, -9999 in a magnitude or its error, read from the mock's allStar: the
    # truth has no flag for them).
    left = kept[in_gaia]
    assert _removed(flow, "missing Gaia G, BP or RP") == (~np.asarray(left["has_bp_rp"], bool)).sum() > 0
    left = left[np.asarray(left["has_bp_rp"], bool)]
    bands = ["J", "H", "K", "J_ERR", "H_ERR", "K_ERR"]
    n_left = len(left)
    left = join(left, allstar["APOGEE_ID", "LOCATION_ID", *bands], keys=["APOGEE_ID", "LOCATION_ID"])
    tmass = np.all([np.ma.filled(np.ma.asarray(left[b], float), np.nan) > 0 for b in bands], axis=0)
    assert len(left) == n_left and _removed(flow, "missing 2MASS") == (~tmass).sum() > 0
    left = left[tmass]
    wise = np.asarray(left["has_w1"], bool) & np.asarray(left["has_w2"], bool)
    assert _removed(flow, "missing AllWISE W1 or W2") == (~wise).sum() > 0
    assert _removed(flow, "Gaia phot_variable_flag") == np.asarray(left["is_variable"], bool)[wise].sum() > 0

    # The Gaia rows' own cut: the mock gave a few 2MASS sources a second, fainter Gaia source
    # (truth n_gaia_mates); the query returns both for every star of the allStar, and exactly the
    # mates go, counted once per 2MASS designation (a repeat observation is queried once).
    gaia_flow = _cutflow(work, sample="gaia")
    queried = np.unique(np.char.strip(np.asarray(allstar["APOGEE_ID"]).astype(str)))
    ids = np.char.strip(np.asarray(truth["APOGEE_ID"]).astype(str))
    first = np.unique(ids, return_index=True)[1]
    mates = np.asarray(truth["n_gaia_mates"])[first][np.isin(ids[first], queried)].sum()
    assert _removed(gaia_flow, "another Gaia source shares this 2MASS best neighbour") == mates > 0


def test_parent_sample_stars_are_giants_with_truth(run):
    work, _ = run
    parent = Table.read(work / "results/mock/samples/parent.fits")
    truth = Table.read(work / "resources/mock/truth.fits")
    joined = join(parent["APOGEE_ID", "LOCATION_ID", "LOGG"], truth, keys=["APOGEE_ID", "LOCATION_ID"])
    assert len(joined) == len(parent)
    assert np.all((joined["LOGG"] > 0) & (joined["LOGG"] <= 2.2))
    assert len(np.unique(parent["APOGEE_ID"])) == len(parent)


def test_training_sets_keep_negative_parallaxes_and_folds_are_seeded(run):
    work, cfg = run
    parent = Table.read(work / "results/mock/samples/parent.fits")
    training = np.asarray(parent["training"], bool)
    assert (np.asarray(parent["parallax"])[training] < 0).sum() > 0
    assert 0.5 < training.mean() < 0.8
    again = folds.fold_labels(parent["APOGEE_ID"], cfg["model"]["n_folds"], cfg["model"]["split_seed"])
    assert np.array_equal(np.asarray(parent["fold"], dtype=str), again)


def test_normalized_spectra_match_the_truth_within_the_noise(run):
    work, cfg = run
    stars = Table.read(work / "results/mock/spectra/shard_0/stars.ecsv")
    flux = np.load(work / "results/mock/spectra/shard_0/flux.npy", mmap_mode="r")
    err = np.load(work / "results/mock/spectra/shard_0/err.npy", mmap_mode="r")
    truth = Table.read(work / "resources/mock/truth.fits")
    allstar = Table.read(work / "resources/mock/allstar.fits")
    keys = ["APOGEE_ID", "TELESCOPE", "FIELD"]   # a spectrum's row (the manifests' and shards' keys)
    rows = join(stars[[*keys, "spectrum_status"]], allstar[[*keys, "SNR"]], keys=keys)
    rows.rename_column("spectrum_status", "pipeline_status")
    rows = join(rows, truth, keys=["APOGEE_ID", "FIELD"])
    order = {(a, f): i for i, (a, f) in enumerate(zip(stars["APOGEE_ID"], stars["FIELD"]))}
    good = rows[(rows["pipeline_status"] == "ok") & (rows["SNR"] > 200)]
    assert len(good) >= 5
    idx = np.array([order[(a, f)] for a, f in zip(good["APOGEE_ID"], good["FIELD"])])
    mock = cfg["mock"]
    model = true_normalized_flux(good["teff"], good["logg"], good["fe_h"], good["alpha_m"], mock["n_lines"],
                                 mock["line_seed"], mock["weak_lines"], mock["weak_line_depth"])
    f, e = flux[idx], err[idx]
    used = e < cfg["spectra"]["max_normalized_error"]
    # The mock's continuum is not the normalizer's family, so beside the noise there is the
    # normalization's own mismatch, measured noise-free in tests/test_normalize_truth.py: a bias of
    # +0.0009 and a pixel scatter of 0.0033. Within that budget the pulls are unit normal
    # (measured median 0.05, sd 1.02 on 172 stars with S/N > 200); on the noise alone they are
    # not (median 0.48, sd 2.5: at high S/N the mismatch dominates).
    pull = ((f - model)[used] - 0.0009) / np.sqrt(e[used] ** 2 + 0.0033**2)
    assert abs(np.median(pull)) < 0.1
    assert 0.8 < np.std(pull) < 1.3


def test_design_matrix_matches_samples_and_pixels(run):
    work, _ = run
    parent = Table.read(work / "results/mock/samples/parent.fits")
    pixels = Table.read(work / "results/mock/spectra/pixels.ecsv")
    X = np.load(work / "results/mock/features/X.npy", mmap_mode="r")
    index = Table.read(work / "results/mock/features/features.ecsv")
    assert X.shape == (len(parent), 9 + len(pixels)) == (len(parent), len(index))
    assert X.dtype == np.float32 and np.isfinite(X).all()
    # Kept: every in-chip pixel except the mock's dead chip edges (no data in every star; the
    # extra dead pixels of a few stars stay under 50 %). The pixel beside a dead edge holds data
    # and is kept: the mask grows only from pixels that had a measurement.
    in_chip = apogee_grid.chip_of_pixel() >= 0
    in_chip[mock_spectra.edge_pixel_index(mock_spectra.EDGE_PIXELS)] = False
    np.testing.assert_array_equal(pixels["pixel"], np.flatnonzero(in_chip))
    assert np.allclose(X[:, 1], parent["phot_g_mean_mag"])


def _flag(column):
    """A True/False column of a CSV file (astropy reads it as text) as bool."""
    text = np.char.strip(np.asarray(column).astype(str))
    assert set(text) <= {"True", "False"}, set(text)
    return text == "True"


def chosen_mask(cv, cat):
    return (cv["lambda"] == cat.meta["LAMBDA"]) & (cv["offset"] == cat.meta["PLXOFFST"])


#: Two-sided bands for the default mock's training stars (see the catalog test below for why).
SCATTER_VS_TRUTH = (0.0915, 0.1065)
CHI2_PER_STAR = (1.75, 2.35)


def _true_parallax(work, star_ids) -> np.ndarray:
    """The mock's true parallax [mas] of each star in ``star_ids`` (2MASS-style IDs)."""
    truth = Table.read(work / "resources/mock/truth.fits")
    first = np.unique(np.asarray(truth["APOGEE_ID"]), return_index=True)[1]
    ids = np.char.strip(np.asarray(truth["APOGEE_ID"]).astype(str))
    true_plx = dict(zip(ids[first], np.asarray(truth["parallax_true"])[first]))
    return np.array([true_plx[i] for i in np.char.strip(np.asarray(star_ids).astype(str))])


def test_the_science_bands_reject_an_in_sample_prediction(run):
    """The run's own models, swapped between the folds so that each star is predicted by the model
    that trained on it (a leak), fall below the held-out chi^2 band the catalog test holds the run
    to, and predict the training stars' true parallaxes better than the honest out-of-fold models.

    On the default mock (blaze x spline continuum, weak lines at continuum pixels) cross-validation
    picks lambda 10, a sparse model (33 and 39 non-zero coefficients) that memorizes little: the
    leak's chi^2 per star is 1.47 against the honest 2.06, but its scatter against the truth, 0.094,
    is only 0.005 below the honest 0.099, inside the scatter band (3 standard errors, 0.0076), so
    that band alone no longer rejects it (on the earlier quadratic-continuum mock, lambda 3: 0.078
    against 0.096). The comparison with the honest models on the same stars is paired: it holds.
    """
    from spectroparallax import model
    from spectroparallax.archives.columns import as_float
    from spectroparallax.model import crossval

    work, _ = run
    parent = Table.read(work / "results/mock/samples/parent.fits")
    best = yaml.safe_load((work / "results/mock/crossval/best.yaml").read_text())
    theta = {fold: np.asarray(Table.read(work / f"results/mock/models/heldout_{fold}/lambda_{best['lambda']}_"
                                          f"offset_{best['offset']}.fits")["theta"]) for fold in "AB"}
    X = np.load(work / "results/mock/features/X.npy", mmap_mode="r")
    X_err = np.load(work / "results/mock/features/X_err.npy", mmap_mode="r")
    spec, _ = crossval.out_of_fold(parent["fold"], {"A": theta["B"], "B": theta["A"]}, X, X_err, model.predict)
    honest, _ = crossval.out_of_fold(parent["fold"], theta, X, X_err, model.predict)
    training = np.asarray(parent["training"], bool)
    chi2 = crossval.held_out_chi2((as_float(parent["parallax"]) + best["offset"])[training],
                                  as_float(parent["parallax_error"])[training], spec[training])
    truth = _true_parallax(work, parent["APOGEE_ID"])
    scatter = stats.robust_scatter(((spec - truth) / truth)[training])
    assert chi2 / training.sum() < CHI2_PER_STAR[0]        # measured 1.47
    honest_scatter = stats.robust_scatter(((honest - truth) / truth)[training])
    assert scatter < honest_scatter                         # measured 0.094 < 0.099


def test_catalog_has_every_parent_star_with_units_and_out_of_fold_values(run):
    work, cfg = run
    parent = Table.read(work / "results/mock/samples/parent.fits")
    cat = Table.read(work / "results/mock/catalog/spectrophotometric_parallaxes.fits")
    cv = Table.read(work / "results/mock/crossval/crossval.csv")
    assert len(cv) == len(cfg["model"]["lambda_grid"]) * len(cfg["model"]["offset_grid"])
    assert len(cat) == len(parent) and list(cat["2MASS_ID"]) == list(np.char.strip(parent["APOGEE_ID"].astype(str)))
    for name in ("Gaia_parallax", "Gaia_parallax_err", "spec_parallax", "spec_parallax_err"):
        assert str(cat[name].unit) == "mas" and cat[name].description
    assert cat.meta["LAMBDA"] in cfg["model"]["lambda_grid"] and cat.meta["PLXOFFST"] in cfg["model"]["offset_grid"]
    assert np.all(cat["flag"] == 0) and np.all(np.asarray(cat["spec_parallax"]) > 0)
    assert np.allclose(cat["Gaia_parallax"], parent["parallax"] + cat.meta["PLXOFFST"], equal_nan=True)

    # The science against the truth. The default mock has ~930 training stars, too few for the
    # held-out chi^2 to tell the offsets 0.029 and 0.048 mas apart reliably (at lambda 10: 1938 vs
    # 1918, paired standard error of the difference 27): where 0.029 comes out lower, crossval keeps
    # model.reference_offset (0.048, the mock's true zero point) and says so in best.yaml. Had it kept the lowest chi^2 (0.029), every
    # prediction would shift by ~-0.02 mas and the median below would be ~-7 percent. Only ~36
    # training stars have Gaia parallax / error >= 20, so the percent-level high-S/N checks are
    # benchmarks/mock_accuracy.py's, on a 20000-row mock.
    truth_plx = _true_parallax(work, cat["2MASS_ID"])
    frac = (np.asarray(cat["spec_parallax"]) - truth_plx) / truth_plx
    training = np.asarray(cat["training_set"]) == 1
    # Two-sided bands, about 3 standard errors of the measured value at this sample size: the
    # scatter against the truth measured 0.0991 on the 930 training stars of the default mock (its
    # blaze x spline continuum; 0.0957 on the earlier quadratic-continuum mock), and a robust width
    # has a standard error of ~1.1 sigma / sqrt(2 N) = 0.0025 there. Outside the band: lambda 30
    # (0.112). An in-sample prediction (the folds' models swapped) gives 0.094, inside: see
    # test_the_science_bands_reject_an_in_sample_prediction.
    n_training = int(training.sum())
    assert 900 <= n_training <= 960
    assert SCATTER_VS_TRUTH[0] < stats.robust_scatter(frac[training]) < SCATTER_VS_TRUTH[1]
    assert abs(np.median(frac[training])) < 0.02     # measured -0.7 percent, sd of the median ~0.5
    assert cat.meta["PLXOFFST"] == cfg["mock"]["parallax_zero_point"]
    best = yaml.safe_load((work / "results/mock/crossval/best.yaml").read_text())
    assert best["reason"] and best["lowest"][best["score"]] <= best[best["score"]]
    assert np.array_equal(_flag(cv["chosen"]), chosen_mask(cv, cat))
    # the paper's figures at the chosen setting: < 9 percent around Gaia for the high-S/N stars
    # (HER19), and most spectral coefficients exactly zero. On 36 stars a robust scatter has a
    # standard error of ~1.1 x 0.094 / sqrt(72) = 0.012: measured 0.094 on the default mock (0.068
    # on the earlier quadratic-continuum one), so the bound is 3 standard errors above it; the
    # percent-level check is benchmarks/mock_accuracy.py's (see above).
    chosen = cv[chosen_mask(cv, cat)]
    assert len(chosen) == 1
    assert chosen["scatter_high_snr"][0] < 0.13
    # Held-out chi^2 per training star: measured 2.06 (1918 / 930; 1.86 on the earlier quadratic-
    # continuum mock). A model that saw the stars it predicts fits them better than their own noise
    # allows (the swapped-fold leak gave 1.47), and
    # one far worse than measured would be a broken fit; +-0.3 is many times the scatter of this
    # mean between seeds (the terms' spread / sqrt(930) is ~0.1).
    assert CHI2_PER_STAR[0] < chosen["chi2"][0] / n_training < CHI2_PER_STAR[1]
    assert chosen["zero_fraction"][0] >= 0.75 and _flag(chosen["converged"])[0]
    # Both sparsity counts reach the table; the exact solver's zeros are a subset of the small ones.
    assert 1.0 >= chosen["small_fraction"][0] >= chosen["zero_fraction"][0]
