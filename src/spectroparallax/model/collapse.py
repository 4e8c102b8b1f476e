"""The collapse criterion of a fit (the failure HER19 sec. 3 warns of, the burn-in's reason to be).

The paper's optimizer (:mod:`.paper_optimizer`) can end in a degenerate optimum where exp(X theta)
is ~0 for every star: the chi^2 gradient vanishes with the predictions, and the L1 term holds the
coefficients there. It happens at lambda 30 when the burn-in has a few dozen stars. A fit is
*collapsed* when the median predicted parallax of its own training stars is below
:data:`COLLAPSE_FRACTION` of their median observed parallax (Gaia plus offset): a healthy fit's
ratio is ~1, a collapsed one's ~1e-3 or below. Model files record the ratio (MEDRATIO), and
:func:`spectroparallax.model.files.write_model` refuses a collapsed fit.
"""

import numpy as np

#: A fit whose median training-star prediction is below this fraction of the median observed
#: parallax has collapsed.
COLLAPSE_FRACTION = 0.01


def prediction_ratio(theta, X, y) -> float:
    """Median of exp(X theta) over median of y for the given (training) stars; NaN if median(y) <= 0."""
    with np.errstate(over="ignore"):
        predicted = np.exp(np.asarray(X, dtype=np.float64) @ np.asarray(theta, dtype=np.float64))
    observed = float(np.median(y))
    return float(np.median(predicted)) / observed if observed > 0 else float("nan")


def is_collapsed(ratio: float) -> bool:
    """True if a fit with this prediction_ratio has collapsed (NaN: not known, so not collapsed)."""
    return bool(ratio < COLLAPSE_FRACTION)
