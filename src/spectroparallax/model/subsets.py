"""The high-S/N subset (switches.high_snr_subset): the burn-in fit's stars (rule train), the
cross-validation's high-S/N scatter (rule crossval) and Fig. 2's right panel (rule figure2).

HER19's code selects on Gaia DR2's own ``parallax_over_error``, i.e. before the offset is added
(infer_parallax.py @ 7e102f0: ``cut_burnin = parallax_over_error > 20``; ``best = ... >= 20``);
the project's improved mode on (parallax + offset) / parallax_error, the S/N of what the model fits.
"""

import numpy as np

SUBSETS = ("paper", "improved")


def high_snr(gaia_parallax, gaia_error, offset: float, snr_min: float, subset: str, *,
             strict: bool = False) -> np.ndarray:
    """Boolean mask of the stars in the high-S/N subset.

    ``gaia_parallax``: Gaia DR2 parallax *plus* ``offset`` [mas] (what the model fits and what the
    catalog's Gaia_parallax holds); ``gaia_error`` [mas]. ``subset`` "paper": Gaia's own S/N,
    (gaia_parallax - offset) / gaia_error; "improved": gaia_parallax / gaia_error. ``strict``: S/N
    > ``snr_min`` (the burn-in cut), else >= (the paper's Fig. 2 "best" panel). NaN S/N is False.
    """
    if subset not in SUBSETS:
        raise ValueError(f"high_snr_subset {subset!r} is not one of {', '.join(SUBSETS)}")
    gaia_parallax, gaia_error = np.asarray(gaia_parallax, float), np.asarray(gaia_error, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = (gaia_parallax - offset) / gaia_error if subset == "paper" else gaia_parallax / gaia_error
        return snr > snr_min if strict else snr >= snr_min
