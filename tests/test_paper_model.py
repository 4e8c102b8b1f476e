"""The model switches of the paper mode (issue 17): high_snr_subset, hyperparameters, optimizer.

HER19's code (infer_parallax.py @ 7e102f0) selects its burn-in and "best" stars on Gaia's own
parallax_over_error (before the offset is added), fixes lambda 30 and offset 0.0483 mas, and fits
with L-BFGS-B on the sign() subgradient from 0.001 / D; that optimizer can collapse to predictions
~0, which the train rule must refuse with one line.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
import yaml
from astropy.table import Table

from spectroparallax.io.errors import InputFileError, OneLineError
from spectroparallax.catalog.stats import high_snr
from spectroparallax.model import collapse, files, training
from spectroparallax.model import paper_optimizer
from spectroparallax.model.crossval import choose_setting, summarize
from test_model import _simulate

LAM = 30.0


# ----------------------------------------------------------------------------------------------
# high_snr_subset


def test_high_snr_subsets_by_hand():
    # Gaia parallax + offset 1/16 mas, errors 1/16 mas (exact in binary): S/N with the offset 20, 32,
    # 10; Gaia's own (before the offset) 19, 31, 9
    gaia = np.array([1.25, 2.0, 0.625])
    err = np.full(3, 0.0625)
    assert list(high_snr(gaia, err, 0.0625, 20.0, "improved")) == [True, True, False]
    assert list(high_snr(gaia, err, 0.0625, 20.0, "improved", strict=True)) == [False, True, False]
    assert list(high_snr(gaia, err, 0.0625, 20.0, "paper")) == [False, True, False]
    assert list(high_snr(gaia, err, 0.0625, 19.0, "paper")) == [True, True, False]
    assert list(high_snr(gaia, err, 0.0625, 19.0, "paper", strict=True)) == [False, True, False]
    assert list(high_snr([np.nan], [0.1], 0.0, 20.0, "paper")) == [False]
    with pytest.raises(ValueError, match="'papr' is not one of paper, improved"):
        high_snr(gaia, err, 0.0625, 20.0, "papr")


def test_crossval_high_snr_scatter_follows_the_subset():
    # four training stars, Gaia parallax + offset 0.125 mas, errors 1/16 mas (exact in binary)
    gaia = np.array([2.5, 1.25, 1.25, 0.625])
    err = np.full(4, 0.0625)
    spec = np.array([2.75, 1.25, 1.125, 0.625])
    training = np.ones(4, bool)
    improved = summarize(gaia, err, spec, training, 20.0, offset=0.125, subset="improved")
    paper = summarize(gaia, err, spec, training, 20.0, offset=0.125, subset="paper")
    # improved: stars 0, 1, 2 (S/N 40, 20, 20); paper: (gaia - 0.125) / err = 38, 18, 18 -> star 0 only
    assert improved["n_high_snr"] == 3 and paper["n_high_snr"] == 1
    assert paper["bias_high_snr"] == pytest.approx(0.1)          # (2.75 - 2.5) / 2.5
    assert improved["bias_high_snr"] == pytest.approx(0.0)       # median of 0.1, 0.0, -0.1
    # the default is today's (improved) definition
    assert summarize(gaia, err, spec, training, 20.0) == summarize(gaia, err, spec, training, 20.0,
                                                                   offset=0.0, subset="improved")


def test_figure2_high_snr_panel_follows_the_subset():
    from spectroparallax.figures.parallaxes import panels
    a = {"gaia": np.array([2.5, 1.25, 0.625]), "gaia_err": np.full(3, 0.0625),
         "spec": np.array([2.75, 1.25, 0.625]), "training": np.array([True, True, True])}
    improved, paper = panels(a, 20.0)["high_snr"], panels(a, 20.0, subset="paper", offset=0.125)["high_snr"]
    assert (improved.n, paper.n) == (2, 1)
    assert paper.bias == pytest.approx(0.1) and "before offset" in paper.title
    assert "before offset" not in improved.title


# ----------------------------------------------------------------------------------------------
# optimizer


def _scaled(scale, n_stars=400, n_features=60):
    """The synthetic problem of test_model with every parallax and error times ``scale`` (S/N kept)."""
    X, y, ivar, pen, theta = _simulate(n_stars, n_features, seed=3)
    theta = theta.copy()
    theta[0] += math.log(scale)
    return X, y * scale, ivar / scale**2, pen, theta


def _parent_and_index(X, y, ivar, pen, offset):
    """A Parent Sample (all of fold B training; the model holding out A trains on them) and a feature index."""
    n = len(y)
    parent = Table({"parallax": y - offset, "parallax_error": 1 / np.sqrt(ivar),
                    "training": np.ones(n, bool), "fold": np.full(n, "B")})
    index = Table({"name": [f"f{j}" for j in range(X.shape[1])], "penalized": pen})
    return parent, index


def test_paper_optimizer_agrees_with_exact_where_it_converges():
    """Parallaxes ~1 mas (the paper's burn-in stars are at ~0.5-2 mas): both optimizers converge and
    predict the same parallaxes to a few per cent, both close to the truth."""
    X, y, ivar, pen, theta = _scaled(1.0)
    hi = y * np.sqrt(ivar) > 20
    exact = training.train(X, y, ivar, pen, LAM, hi, "exact")
    paper = training.train(X, y, ivar, pen, LAM, hi, "paper")
    assert exact.converged and paper.converged, (exact.message, paper.message)
    assert (exact.optimizer, paper.optimizer) == ("exact", "paper")
    frac = np.exp(X @ paper.theta) / np.exp(X @ exact.theta) - 1
    assert np.sqrt(np.mean(frac**2)) < 0.02 and np.max(np.abs(frac)) < 0.05
    truth = np.exp(X[hi] @ paper.theta) / np.exp(X[hi] @ theta) - 1
    assert np.sqrt(np.mean(truth**2)) < 0.05
    assert paper.objective >= exact.objective          # exact reaches the lower objective
    assert 0.9 < paper.prediction_ratio < 1.1


def test_exact_fit_takes_the_callers_burn_in_subset():
    from spectroparallax.model import fit
    X, y, ivar, pen, _ = _scaled(1.0)
    burn_in = np.zeros(len(y), bool)
    burn_in[np.argsort(-y * np.sqrt(ivar))[:30]] = True       # 30 of the > 20 sigma stars
    assert np.sum(y * np.sqrt(ivar) > 20) > 30
    assert fit(X, y, ivar, pen, LAM, burn_in=burn_in).burn_in.n_stars == 30
    with pytest.raises(ValueError, match=r"burn_in must be a boolean mask of shape \(400,\)"):
        fit(X, y, ivar, pen, LAM, burn_in=burn_in[:10])


def test_paper_optimizer_does_what_the_papers_code_does(monkeypatch):
    """L-BFGS-B with jac, maxfun 50000, from 0.001 / D on the burn-in stars, then from that answer on all."""
    X, y, ivar, pen, _ = _scaled(1.0, n_stars=200, n_features=30)
    burn_in = np.zeros(len(y), bool)
    burn_in[::7] = True
    calls = []
    real = paper_optimizer.minimize

    def spy(fun, x0, args, **kwargs):
        res = real(fun, x0, args=args, **kwargs)
        calls.append((np.array(x0), args, kwargs, res.x))
        return res

    monkeypatch.setattr(paper_optimizer, "minimize", spy)
    result = paper_optimizer.fit_baseline(X, y, ivar, pen, LAM, burn_in=burn_in)
    (x0_burn, args_burn, kw_burn, x_burn), (x0_all, args_all, kw_all, x_all) = calls
    d = X.shape[1]
    assert np.all(x0_burn == 0.001 / d)
    assert kw_burn == kw_all == {"method": "L-BFGS-B", "jac": True, "options": {"maxfun": 50000}}
    assert np.array_equal(args_burn[1], y[burn_in]) and np.array_equal(args_all[1], y)
    assert np.array_equal(x0_all, x_burn) and np.array_equal(result.theta, x_all)
    lam_v = args_all[3]
    assert np.all(lam_v[pen] == LAM) and np.all(lam_v[~pen] == 0)
    assert result.burn_in.n_stars == burn_in.sum()
    # the subgradient the paper hands to L-BFGS-B: chi^2 gradient + lam sign(theta)
    theta = np.linspace(-0.01, 0.01, d)
    f, g = paper_optimizer._objective_and_subgradient(theta, X, y, ivar, lam_v)
    p = np.exp(X @ theta)
    assert f == pytest.approx(0.5 * np.sum(ivar * (y - p) ** 2) + LAM * np.sum(np.abs(theta[pen])), rel=1e-12)
    assert g == pytest.approx(-X.T @ (ivar * (y - p) * p) + lam_v * np.sign(theta), rel=1e-10)


def test_paper_optimizer_converged_only_if_both_stages_succeed(monkeypatch):
    """The paper's code asserts res.success after the burn-in and after the fit to all stars."""
    X, y, ivar, pen, _ = _scaled(1.0, n_stars=200, n_features=30)
    real = paper_optimizer.minimize
    calls = []

    def burn_in_fails(*args, **kwargs):
        res = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            res.success, res.message = False, "ABNORMAL_TERMINATION_IN_LNSRCH"
        return res

    monkeypatch.setattr(paper_optimizer, "minimize", burn_in_fails)
    result = paper_optimizer.fit_baseline(X, y, ivar, pen, LAM)
    assert not result.converged and result.message.startswith("burn-in: ABNORMAL_TERMINATION_IN_LNSRCH")


def test_collapse_criterion_by_hand():
    X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    theta = np.array([math.log(0.002), 0.0])          # every prediction 0.002 mas
    y = np.array([0.1, 0.3, 0.2])                      # median 0.2
    assert collapse.prediction_ratio(theta, X, y) == pytest.approx(0.01)
    assert collapse.prediction_ratio(theta, X, -y) != collapse.prediction_ratio(theta, X, -y)   # NaN
    assert collapse.is_collapsed(0.0099) and not collapse.is_collapsed(0.0101)
    assert not collapse.is_collapsed(float("nan"))


def test_paper_optimizer_collapse_is_one_line_naming_fold_and_lambda_and_writes_nothing(tmp_path):
    """Burn-in stars at ~0.3 mas: the first L-BFGS-B step from 0.001 / D (predictions ~1 mas) overshoots
    to exp(X theta) ~ 0, which beats the start; the chi^2 gradient vanishes there and scipy reports
    success. The exact solver fits the same stars."""
    offset = 0.0483
    X, y, ivar, pen, _ = _scaled(0.3)
    parent, index = _parent_and_index(X, y, ivar, pen, offset)
    path = tmp_path / "heldout_A" / "lambda_30.0_offset_0.0483.fits"
    kwargs = dict(burn_in_snr=20.0, high_snr_subset="improved")
    with pytest.raises(files.ModelCollapsed) as info:
        training.train_fold(path, X, index, parent, "A", LAM, offset, optimizer="paper", **kwargs)
    msg = str(info.value)
    assert isinstance(info.value, OneLineError) and "\n" not in msg
    assert msg.startswith("train: the fit for held-out fold A, lambda 30.0, offset 0.0483 mas collapsed: "
                          "the median predicted parallax of its 400 training stars is ")
    assert "paper optimizer" in msg and "use switches.optimizer: exact, or a smaller lambda" in msg
    assert not any(tmp_path.rglob("*.fits"))
    exact = training.train_fold(path, X, index, parent, "A", LAM, offset, optimizer="exact", **kwargs)
    assert 0.9 < exact.prediction_ratio < 1.1 and path.exists()


def test_train_fold_records_the_optimizer_and_uses_the_subset(tmp_path):
    offset = 0.0483
    X, y, ivar, pen, _ = _scaled(1.0)
    parent, index = _parent_and_index(X, y, ivar, pen, offset)
    kwargs = dict(burn_in_snr=20.0)
    paper_path, exact_path = tmp_path / "paper.fits", tmp_path / "exact.fits"
    res = training.train_fold(paper_path, X, index, parent, "A", LAM, offset, high_snr_subset="paper",
                              optimizer="paper", **kwargs)
    meta = files.read_model(paper_path, heldout="A", lam=LAM, offset=offset, n_train=len(y)).meta
    assert meta["OPTIMIZR"] == "paper" and meta["MEDRATIO"] == pytest.approx(res.prediction_ratio)
    err = 1 / np.sqrt(ivar)
    assert res.burn_in.n_stars == np.sum((y - offset) / err > 20)          # Gaia's own S/N
    res = training.train_fold(exact_path, X, index, parent, "A", LAM, offset, high_snr_subset="improved",
                              optimizer="exact", **kwargs)
    assert files.read_model(exact_path).meta["OPTIMIZR"] == "exact"
    assert res.burn_in.n_stars == np.sum(y / err > 20) > np.sum((y - offset) / err > 20)


def test_read_model_refuses_and_sets_aside_a_collapsed_model_file(tmp_path):
    table = Table({"name": ["offset", "G"], "theta": [0.1, -0.2]})
    table.meta.update({"CONVERGD": True, "MEDRATIO": 1e-10, "OPTIMIZR": "paper"})
    table.write(tmp_path / "collapsed.fits")
    with pytest.raises(InputFileError) as info:
        files.read_model(tmp_path / "collapsed.fits")
    msg = str(info.value)
    assert "\n" not in msg and "predictions collapsed (MEDRATIO = 1e-10, below 0.01)" in msg
    assert (tmp_path / "collapsed.fits.bad").exists()


# ----------------------------------------------------------------------------------------------
# hyperparameters


def test_fixed_setting_is_kept_and_says_so():
    table = Table({"lambda": [30.0], "offset": [0.0483], "chi2": [123.0]})
    choice = choose_setting(table, np.ones((1, 4)), None, fixed=True)
    assert choice.row == 0 and choice.reason.startswith("fixed by the paper mode (switches.hyperparameters: paper): "
                                                         "lambda 30, offset 0.0483 mas")
    assert "not chosen by cross-validation" in choice.reason
    assert "fixed" not in choose_setting(table, np.ones((1, 4)), None).reason
    two = Table({"lambda": [30.0, 10.0], "offset": [0.0483, 0.0483], "chi2": [1.0, 2.0]})
    with pytest.raises(ValueError, match="expected one setting, got 2"):
        choose_setting(two, np.ones((2, 4)), None, fixed=True)


def _dry_run(repo, tmp_path, cfg):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "-n", "--configfile", str(path),
           "--directory", str(tmp_path), "crossval"]
    out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)
    jobs = dict(line.split() for line in out.stdout.splitlines()
                if len(line.split()) == 2 and line.split()[1].isdigit())
    return out, jobs


def test_paper_mode_trains_the_papers_one_setting(repo, tmp_path, config):
    """mode: paper plans one train job per fold at lambda 30, offset 0.0483 (the model files' names),
    and a reference offset outside the (unused) grid does not stop it."""
    cfg = yaml.safe_load(yaml.safe_dump(config))
    cfg.update(survey="mock", mode="paper")
    cfg["model"]["reference_offset"] = 0.03      # not in offset_grid: fatal in improved mode only
    out, jobs = _dry_run(repo, tmp_path, cfg)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert jobs["train"] == "2" and jobs["crossval"] == "1"
    assert "models/heldout_A/lambda_30.0_offset_0.0483.fits" in out.stdout
    assert "models/heldout_B/lambda_30.0_offset_0.0483.fits" in out.stdout
    cfg["mode"] = "improved"
    cfg["model"]["reference_offset"] = 0.048
    out, jobs = _dry_run(repo, tmp_path, cfg)
    assert out.returncode == 0 and jobs["train"] == str(2 * len(cfg["model"]["lambda_grid"]) *
                                                        len(cfg["model"]["offset_grid"]))
