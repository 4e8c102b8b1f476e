"""The mock survey's truth beside a catalog: what the benchmarks compare the catalog with."""

from pathlib import Path

import numpy as np
from astropy.table import Table, join


def with_true_parallax(catalog: Table, truth_path) -> Table:
    """``catalog`` joined on 2MASS_ID to the true parallax [mas] of resources/mock/truth.fits.

    The truth has one row per allStar row; a star observed twice has a second, duplicate row
    (``is_duplicate_row``), which is left out so that each catalog star matches once.
    """
    truth = Table.read(Path(truth_path))
    truth = truth[~np.asarray(truth["is_duplicate_row"], bool)]
    truth["2MASS_ID"] = np.char.strip(np.asarray(truth["APOGEE_ID"], dtype=str))
    return join(catalog, truth["2MASS_ID", "parallax_true"], keys="2MASS_ID")
