"""Model files: the fitted theta beside the feature index that names each coefficient (FITS)."""

import numpy as np
from astropy.table import Table

from spectroparallax.io import atomic


def write_model(path, theta, index: Table, result, **meta) -> None:
    """Write theta with its feature index and the fit's figures in the header.

    ``result`` is a :class:`spectroparallax.model.FitResult`; ``meta`` adds header keywords
    (e.g. FOLD, LAMBDA, OFFSET, NTRAIN; at most 8 characters each).
    """
    table = index.copy()
    table["theta"] = np.asarray(theta, dtype=np.float64)
    table["theta"].description = "coefficient of eq. 4: ln(parallax / mas) per unit of the feature"
    table.meta.update({
        "OBJECTIV": float(result.objective), "NITER": int(result.n_iter), "CONVERGD": bool(result.converged),
        "ZEROFRAC": float(result.zero_fraction), "FITTIME": float(result.time),
    })
    table.meta.update({k.upper(): v for k, v in meta.items()})
    atomic.write_table(table, path)


def read_model(path) -> Table:
    """Read a model file; ``table['theta']`` is theta, ``table.meta`` the fit's figures."""
    return Table.read(path)
