"""Split stability (model.split_repeats, issue 17): the A/B training repeated over seeded random splits.

Unit tests of spectroparallax.model.repeats on synthetic arrays with hand calculations, then the
workflow on the mock with split_repeats 2 (a copy of conftest.mock_run): the repeat jobs are all that
turning it on or changing N adds or removes, they run, and the repeats' models and predictions differ.
"""

import numpy as np
import pytest
import yaml
from astropy.table import Table

from conftest import copy_run, job_counts, run_snakemake, write_mock_config
from spectroparallax.io.errors import InputFileError
from spectroparallax.model import repeats
from spectroparallax.sample import folds as sample_folds

IDS = np.array([f"2M{k:08d}+0000000" for k in range(400)])


# ---------------------------------------------------------------------------------------------
# Fold labels per repeat


def test_repeat_labels_differ_between_repeats_and_are_reproducible_by_seed():
    r0 = repeats.repeat_labels(IDS, 2, 20190801, 0)
    r1 = repeats.repeat_labels(IDS, 2, 20190801, 1)
    main = sample_folds.fold_labels(IDS, 2, 20190801)   # the catalog's own improved-mode split
    # the same (split_seed, repeat) gives the same labels, from a fresh call and for a subset of the stars
    assert np.array_equal(r0, repeats.repeat_labels(IDS, 2, 20190801, 0))
    assert np.array_equal(r0[::7], repeats.repeat_labels(IDS[::7], 2, 20190801, 0))
    # two independent random halvings agree on about half of the stars (binomial: 200 +- 10 of 400)
    for other in (r1, main, repeats.repeat_labels(IDS, 2, 1, 0)):
        assert 160 < (r0 != other).sum() < 240
    assert set(r0) == {"A", "B"} and 160 < (r0 == "A").sum() < 240
    assert set(repeats.repeat_labels(IDS, 3, 5, 2)) == {"A", "B", "C"}
    assert repeats.repeat_seed(20190801, 3) == "20190801:repeat:3"


def test_a_repeat_with_an_empty_fold_says_which():
    with pytest.raises(ValueError, match=r"split repeat 0 .*fold [AB] of 2 got no Parent Sample star"):
        repeats.repeat_labels(IDS[:1], 2, 1, 0)


# ---------------------------------------------------------------------------------------------
# Predictions: each star once per repeat, by the model that held its fold out


def test_every_star_is_predicted_once_per_repeat_by_a_model_that_did_not_see_it():
    rng = np.random.default_rng(3)
    n = len(IDS)
    training = rng.random(n) < 0.7
    X = np.column_stack([np.arange(n, dtype=float), rng.normal(size=n)])   # column 0: the star's row
    X_err = np.full_like(X, 0.1)
    for repeat in range(3):
        labels = repeats.repeat_labels(IDS, 2, 7, repeat)
        # theta of the model holding out fold k; its column 1 marks the model in the prediction
        models = {fold: np.array([0.0, float(k + 1)]) for k, fold in enumerate("AB")}
        seen = np.zeros(n, int)

        def predict(theta, X_rows, X_err_rows):
            rows = X_rows[:, 0].astype(int)
            heldout = "AB"[int(theta[1]) - 1]
            trained_on = sample_folds.training_rows(training, labels, heldout)
            assert not np.intersect1d(rows, trained_on).size, f"model holding out {heldout} predicts its own stars"
            seen[rows] += 1
            return np.full(rows.size, theta[1]), np.full(rows.size, 0.5)

        spec, err = repeats.predict_repeat(labels, models, X, X_err, predict)
        assert (seen == 1).all()
        assert np.array_equal(spec, np.where(labels == "A", 1.0, 2.0)) and (err == 0.5).all()


def test_a_fold_without_a_model_is_refused():
    labels = repeats.repeat_labels(IDS, 2, 7, 0)
    with pytest.raises(ValueError, match="no repeat model holds out fold.* B"):
        repeats.predict_repeat(labels, {"A": np.zeros(2)}, np.zeros((len(IDS), 2)), np.zeros((len(IDS), 2)),
                               lambda *a: None)


# ---------------------------------------------------------------------------------------------
# The spread and its summary


def test_spread_of_known_predictions():
    spec = np.array([[1.0, 2.0, np.nan, np.nan],
                     [3.0, 2.0, 5.0, np.nan],
                     [2.0, 2.0, np.nan, np.nan]])
    mean, std, n = repeats.spread(spec)
    # star 0: 1, 3, 2 -> mean 2, variance (1 + 1 + 0) / (3 - 1) = 1; star 1: no spread;
    # star 2: one prediction (no spread); star 3: none
    np.testing.assert_allclose(mean[:3], [2.0, 2.0, 5.0])
    np.testing.assert_allclose(std[:2], [1.0, 0.0])
    assert np.isnan(std[2:]).all() and np.isnan(mean[3])
    assert n.tolist() == [3, 3, 1, 0]


def _parent_and_catalog(n=8):
    parent = Table({"APOGEE_ID": IDS[:n], "source_id": np.arange(n), "SNR": np.linspace(50, 400, n),
                    "training": np.arange(n) % 2 == 0})
    catalog = Table({"2MASS_ID": IDS[:n], "spec_parallax": np.full(n, 1.0), "spec_parallax_err": np.full(n, 0.1)})
    return parent, catalog


def test_spread_table_columns_and_the_catalog_it_must_match():
    parent, catalog = _parent_and_catalog()
    labels = np.array([list("ABABABAB"), list("BBAABBAA")])
    spec = np.array([np.full(8, 1.0), np.full(8, 1.2)])
    table = repeats.spread_table(parent, catalog, labels, spec, 10.0, 0.048)
    np.testing.assert_allclose(table["spec_parallax_std"], 0.2 / np.sqrt(2))   # |1.2 - 1.0| / sqrt(2)
    np.testing.assert_allclose(table["spread_ratio"], 0.2 / np.sqrt(2) / 0.1)
    assert table["repeat_fold"][1].tolist() == ["B", "B"] and table["repeat_spec_parallax"].shape == (8, 2)
    for name in table.colnames:
        assert table[name].description, name
    assert {n for n in table.colnames if str(table[n].unit) == "mas"} == {
        "spec_parallax", "spec_parallax_err", "repeat_spec_parallax", "spec_parallax_mean", "spec_parallax_std"}
    catalog["2MASS_ID"][3] = "2M99999999+0000000"
    with pytest.raises(InputFileError, match="cat.fits: its 8 rows are not the Parent Sample's 8 stars"):
        repeats.spread_table(parent, catalog, labels, spec, 10.0, 0.048, catalog_path="cat.fits")


def test_summary_sets_the_spread_against_the_quoted_error_per_snr_bin():
    n = 8
    parent, catalog = _parent_and_catalog(n)
    catalog["spec_parallax_err"] = [0.1, 0.1, 0.2, 0.2, 0.1, 0.1, 0.4, 0.4]
    # two repeats: std = |a - b| / sqrt(2); differences chosen so std = 0.05, 0.1, 0.1, 0.2, ... exactly
    std = np.array([0.05, 0.1, 0.1, 0.2, 0.1, 0.3, 0.2, 0.2])
    spec = np.array([np.full(n, 1.0), 1.0 + std * np.sqrt(2)])
    table = repeats.spread_table(parent, catalog, [list("AB" * 4)] * 2, spec, 10.0, 0.048)
    summary = repeats.spread_summary(table, n_bins=2)
    assert summary["stars"].tolist() == ["S/N bin 1 of 2", "S/N bin 2 of 2", "all"]
    assert summary["n_stars"].tolist() == [4, 4, 8]
    low, high, everyone = summary
    # S/N bin 1 (the four lowest SNR): std 0.05, 0.1, 0.1, 0.2 over errors 0.1, 0.1, 0.2, 0.2
    assert low["median_spread"] == pytest.approx(0.1) and low["median_quoted_err"] == pytest.approx(0.15)
    assert low["median_ratio"] == pytest.approx(0.1 / 0.15)
    assert low["ratio_p50"] == pytest.approx(np.median([0.5, 1.0, 0.5, 1.0]))
    assert low["rms_spread"] == pytest.approx(np.sqrt((0.05**2 + 0.1**2 + 0.1**2 + 0.2**2) / 4))
    # bin 2: ratios 1, 3, 0.5, 0.5
    assert high["ratio_p50"] == pytest.approx(0.75)
    assert everyone["snr_min"] == 50 and everyone["snr_max"] == 400
    assert everyone["median_fractional_spread"] == pytest.approx(np.median(std / (1 + std / np.sqrt(2))))
    # two repeats: the median std of Gaussian pairs is 0.6745 sigma (|N(0, 1)|'s median)
    assert summary.meta["median_std_factor"] == pytest.approx(0.6745, abs=1e-4)
    assert everyone["ratio_p50_corrected"] == pytest.approx(everyone["ratio_p50"] / 0.67449, rel=1e-4)
    for name in summary.colnames:
        assert summary[name].description, name


def test_median_std_factor_matches_simulated_repeats():
    rng = np.random.default_rng(0)
    for n_repeats in (2, 3, 5):
        draws = rng.normal(0.0, 2.0, size=(n_repeats, 200_000))
        assert np.median(draws.std(axis=0, ddof=1)) / 2.0 == pytest.approx(
            repeats.median_std_factor(n_repeats), rel=0.01)
    assert np.isnan(repeats.median_std_factor(1))


def test_a_model_of_another_repeat_is_refused():
    model = Table({"theta": [0.0]}, meta={"REPEAT": 1, "RSEED": repeats.repeat_seed(5, 1)})
    repeats.check_repeat_model(model, "m.fits", 1, repeats.repeat_seed(5, 1))
    with pytest.raises(InputFileError, match="m.fits: model file of repeat 1 .* expected repeat 0"):
        repeats.check_repeat_model(model, "m.fits", 0, repeats.repeat_seed(5, 0))


# ---------------------------------------------------------------------------------------------
# The workflow on the mock


REPEAT_JOBS = {"repeat_train": 4, "repeat_spread": 1, "figure_repeats": 1}
TARGETS = ("results/mock/repeats/spread.fits", "results/mock/repeats/spread_summary.ecsv",
           "results/mock/figures/figure_repeats.pdf")


def _plan(work, *targets):
    out = run_snakemake(work, "-n", *targets)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return job_counts(out)


def _set_repeats(work, n):
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    cfg["model"]["split_repeats"] = n
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))


def test_split_repeats_on_the_mock(mock_run, tmp_path):
    work = copy_run(mock_run[0], tmp_path / "run")
    off = _plan(work, "all")
    assert not any(rule.startswith("repeat") or rule == "figure_repeats" for rule in off), off
    _set_repeats(work, 2)
    on = _plan(work, "all")
    # turning it on adds the repeat jobs to the default target and nothing else
    assert {rule: n for rule, n in on.items() if off.get(rule) != n} == {**REPEAT_JOBS, **({"all": 1} if "all" not in off else {})}
    assert _plan(work, *TARGETS) == REPEAT_JOBS   # the catalog's own models, crossval and catalog stay

    out = run_snakemake(work, "--cores", "2", *TARGETS)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert job_counts(out) == REPEAT_JOBS

    best = yaml.safe_load((work / "results/mock/crossval/best.yaml").read_text())
    spread = Table.read(work / "results/mock/repeats/spread.fits")
    parent = Table.read(work / "results/mock/samples/parent.fits")
    assert len(spread) == len(parent) and spread.meta["NREPEATS"] == 2
    finite = np.isfinite(spread["spec_parallax_std"])
    assert finite.mean() > 0.99 and (spread["spec_parallax_std"][finite] > 0).any()
    # the spread is the std of the two repeat predictions, which straddle the catalog's value
    pair = np.asarray(spread["repeat_spec_parallax"], float)
    np.testing.assert_allclose(spread["spec_parallax_std"], np.abs(pair[:, 0] - pair[:, 1]) / np.sqrt(2), rtol=1e-12)
    assert np.median(np.abs(spread["spec_parallax_mean"] - spread["spec_parallax"]) / spread["spec_parallax"]) < 0.05
    # repeat models at the chosen setting, trained on different stars, with different coefficients
    models = {(r, f): Table.read(work / f"results/mock/repeats/repeat_{r}/heldout_{f}.fits") for r in (0, 1) for f in "AB"}
    for (r, f), m in models.items():
        assert (m.meta["LAM"], m.meta["OFFSET"], m.meta["REPEAT"], m.meta["HELDOUT"]) == \
            (best["lambda"], best["offset"], r, f)
    assert not np.allclose(models[(0, "A")]["theta"], models[(1, "A")]["theta"])
    assert (spread["repeat_fold"][:, 0] != spread["repeat_fold"][:, 1]).mean() > 0.3
    summary = Table.read(work / "results/mock/repeats/spread_summary.ecsv")
    assert summary["n_stars"][-1] == finite.sum() and np.isfinite(summary["ratio_p50"]).all()
    assert (work / "results/mock/figures/figure_repeats.png").stat().st_size > 20000

    # changing N adds or removes only repeat jobs
    _set_repeats(work, 3)
    assert _plan(work, *TARGETS) == {**REPEAT_JOBS, "repeat_train": 2}
    out = run_snakemake(work, "--cores", "2", *TARGETS)
    assert out.returncode == 0 and job_counts(out)["repeat_train"] == 2, out.stdout[-3000:] + out.stderr[-3000:]
    _set_repeats(work, 2)
    assert _plan(work, *TARGETS) == {"repeat_spread": 1, "figure_repeats": 1}


def test_one_repeat_is_refused_with_one_line(config, tmp_path):
    write_mock_config(config, tmp_path, model={"split_repeats": 1})
    out = run_snakemake(tmp_path, "-n")
    assert out.returncode != 0
    assert "model.split_repeats is 1, but a spread over random splits needs at least 2" in out.stdout + out.stderr
