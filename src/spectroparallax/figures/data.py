"""The catalog beside the Parent Sample columns the figures colour and place stars by."""

import numpy as np
from astropy.table import Table

from spectroparallax.archives.columns import as_float


def check_aligned(cat: Table, parent: Table, cat_path="catalog", parent_path="parent sample") -> None:
    """Raise ValueError unless ``cat`` and ``parent`` list the same stars in the same order.

    The catalog is built row for row from the Parent Sample; a mismatch means one of them is
    stale, and the message names both files and the first differing row.
    """
    ids = np.char.strip(np.asarray(cat["2MASS_ID"], dtype=str))
    parent_ids = np.char.strip(np.asarray(parent["APOGEE_ID"], dtype=str))
    if ids.shape != parent_ids.shape:
        raise ValueError(f"{cat_path} has {ids.size} rows but {parent_path} has {parent_ids.size}; "
                         "rebuild the catalog from this Parent Sample (snakemake catalog)")
    bad = np.flatnonzero(ids != parent_ids)
    if bad.size:
        i = bad[0]
        raise ValueError(f"{cat_path} row {i} is {ids[i]} but {parent_path} row {i} is {parent_ids[i]} "
                         f"({bad.size} rows differ); rebuild the catalog from this Parent Sample (snakemake catalog)")


def read(cat_path, parent_path) -> tuple[Table, Table]:
    """Read the catalog and the Parent Sample and check that they are row for row the same stars."""
    cat, parent = Table.read(cat_path), Table.read(parent_path)
    check_aligned(cat, parent, cat_path, parent_path)
    return cat, parent


def labels(parent: Table) -> dict:
    """Parent Sample columns used for colours and positions, as float arrays (NaN = missing).

    bp_rp, j_k, h_w2 [mag]; G [mag]; teff [K]; logg, fe_h, alpha_m [dex]; snr; pmra, pmdec [mas/yr];
    rv (APOGEE VHELIO_AVG) [km/s]; training (bool).
    """
    f = {name: as_float(parent[name]) for name in (
        "phot_bp_mean_mag", "phot_rp_mean_mag", "phot_g_mean_mag", "J", "H", "K", "w2mpro", "TEFF", "LOGG",
        "FE_H", "ALPHA_M", "SNR", "pmra", "pmdec", "VHELIO_AVG")}
    return {
        "bp_rp": f["phot_bp_mean_mag"] - f["phot_rp_mean_mag"], "j_k": f["J"] - f["K"], "h_w2": f["H"] - f["w2mpro"],
        "g": f["phot_g_mean_mag"], "teff": f["TEFF"], "logg": f["LOGG"], "fe_h": f["FE_H"], "alpha_m": f["ALPHA_M"],
        "snr": f["SNR"],
        "pmra": f["pmra"], "pmdec": f["pmdec"], "rv": f["VHELIO_AVG"],
        "training": np.asarray(parent["training"], dtype=bool),
    }
