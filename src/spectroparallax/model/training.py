"""One training job (rule train): the fit of eq. 3 on the training stars outside a held-out fold,
with the optimizer of switches.optimizer, its collapse check (:mod:`.collapse`), and the model file.
"""

import numpy as np

from spectroparallax.archives.columns import as_float, fit_parallax
from spectroparallax.sample import folds

from . import files as model_files
from . import photometry_basis as phot_basis
from .collapse import prediction_ratio
from .exp_linear import FitResult, fit
from .paper_optimizer import fit_baseline
from spectroparallax.catalog.stats import high_snr

OPTIMIZERS = ("exact", "paper")


def train(X, y, ivar, penalized, lam, burn_in, optimizer: str, theta0=None, *, basis=None,
          overwrite_X: bool = False) -> FitResult:
    """Fit eq. 3 with ``optimizer`` ("exact": :func:`spectroparallax.model.fit`; "paper": HER19's
    L-BFGS-B, :func:`spectroparallax.model.paper_optimizer.fit_baseline`) from the burn-in subset
    ``burn_in`` (bool (N,)), or for the exact optimizer from ``theta0`` if given (a warm start:
    the same optimum), and set the result's ``prediction_ratio`` on these training stars.

    ``basis`` (switches.photometry_basis colours; a :class:`.photometry_basis.Basis`): fit with the
    photometry as one magnitude and colours, the colours penalized with ``lam`` like the pixels;
    ``theta0`` and the returned theta (also the burn-in's) are in the magnitude basis of ``X``, the
    objective is the one minimized (with the colour penalty) and the zero fraction the pixels' alone.
    ``overwrite_X``: with ``basis``, X may be overwritten by its colour-basis version (saves a copy).
    None: the paper's magnitudes (HER19 eq. 11), exactly as they come."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer {optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    if basis is not None:
        spectral = np.asarray(penalized, bool)
        X = phot_basis.design_matrix(X, basis, overwrite=overwrite_X)
        penalized = phot_basis.penalized(spectral, basis)
        theta0 = None if theta0 is None else phot_basis.to_colours(theta0, basis)
    if optimizer == "exact":
        result = fit(X, y, ivar, penalized, lam, burn_in=burn_in, theta0=theta0)
    elif theta0 is not None:
        # the paper's optimizer stops where its start leads it (no clean optimum): always its own start
        raise ValueError("the paper's optimizer starts from 0.001/D as HER19's code does; it takes no warm start "
                         "(model.cv_path applies to switches.optimizer: exact only)")
    else:
        result = fit_baseline(X, y, ivar, penalized, lam, burn_in=burn_in)
    result.prediction_ratio = prediction_ratio(result.theta, X, y)   # x . theta: the same in either basis
    if basis is not None:
        result.theta = phot_basis.to_magnitudes(result.theta, basis)
        if result.burn_in is not None:
            result.burn_in.theta = phot_basis.to_magnitudes(result.burn_in.theta, basis)
        result.zero_fraction = float(np.mean(result.theta[spectral] == 0.0)) if spectral.any() else float("nan")
    return result


def fold_training_data(parent, fold: str, l21: bool = True):
    """The training stars of the model that holds out ``fold``: (their Parent Sample rows, their Gaia
    parallax [mas] without offset (DR3 with ``l21``: minus the L21 zero point where the parent has
    one), its error [mas])."""
    rows = folds.training_rows(parent["training"], parent["fold"], fold)
    return rows, fit_parallax(parent, l21)[rows], as_float(parent["parallax_error"])[rows]


def train_fold(path, X, index, parent, fold: str, lam: float, offset: float, *, burn_in_snr: float,
               high_snr_subset: str, optimizer: str, l21: bool = True, start=None, start_setting=None,
               photometry_basis: str = "magnitudes", **meta) -> FitResult:
    """Rule train: fit the model that holds out ``fold`` at (``lam``, ``offset`` [mas]) and write it to ``path``.

    X: the design matrix (all Parent Sample rows; may be a memory map); index: the feature index
    (column ``penalized``); parent: the Parent Sample (training, fold, parallax, parallax_error).
    ``l21`` (switches.zero_point): subtract each star's L21 zero point where the parent has one (Gaia DR3).
    The burn-in stars are the training stars of :func:`spectroparallax.catalog.stats.high_snr` with S/N >
    ``burn_in_snr`` (``high_snr_subset``). Raises ModelNotConverged / ModelCollapsed (one line) and
    writes nothing if the fit did not converge or collapsed; ValueError for bad training data.
    ``start``: the model file the fit starts from (its theta), of the same held-out fold at
    ``start_setting`` ({"lam", "offset"}, rule train's param ``start``: the next larger lambda at
    ``offset`` (model.cv_path), or the same lambda at the previous offset (model.cv_path_offsets));
    without ``start_setting``, any larger lambda at ``offset``. It is checked to be that setting of
    ``fold``, with these training stars and features (:func:`.files.read_start`); the header's
    WARMFROM and WARMOFF record its lambda and offset, or COLD.
    ``photometry_basis`` (switches.photometry_basis): "magnitudes", the paper's eight unpenalized
    magnitudes, or "colours", fitted as one magnitude plus L1-penalized colours (:mod:`.photometry_basis`;
    the file holds theta in the magnitude basis either way, header PHOTBAS says which).
    ``meta`` adds header keywords (e.g. the split repeat's REPEAT and RSEED, :mod:`.repeats`).
    """
    rows, parallax, error = fold_training_data(parent, fold, l21)
    y = parallax + offset
    ivar = 1.0 / error ** 2
    burn_in = high_snr(y, error, offset, burn_in_snr, high_snr_subset, strict=True)
    theta0 = None
    warmfrom = warmoff = "COLD"
    if start is not None:
        warmfrom, warmoff, theta0 = model_files.read_start(start, heldout=fold, lam=lam, offset=offset,
                                                           n_train=len(rows), index=index, expected=start_setting)
    if photometry_basis not in phot_basis.BASES:
        raise ValueError(f"photometry_basis {photometry_basis!r} is not one of {', '.join(phot_basis.BASES)}")
    basis = phot_basis.colour_basis(index["name"], index["kind"]) if photometry_basis == "colours" else None
    X_rows = np.asarray(X[rows])   # an index array copies the rows: the fit may overwrite them (overwrite_X)
    result = train(X_rows, y, ivar, np.asarray(index["penalized"], bool), lam, burn_in, optimizer, theta0=theta0,
                   basis=basis, overwrite_X=True)
    model_files.write_model(path, result.theta, index, result, heldout=fold, lam=lam, offset=offset,
                            ntrain=len(rows), warmfrom=warmfrom, warmoff=warmoff, photbas=photometry_basis, **meta)
    return result
