"""The Parent Sample and the Training Sets: the cuts of HER19 sec. 4 (eq. 6-10).

Parent Sample: APOGEE stars with 0 < logg <= 2.2, a readable spectrum, one row per star, a Gaia DR2
match with complete photometry in G, BP, RP, J, H, K, W1, W2, not flagged VARIABLE, and the colour
cuts of eq. 6 and 7. Training Sets: Parent stars of a fold with a finite Gaia parallax and the
astrometric quality cuts of eq. 8-10. There is no cut on parallax or on parallax / error, ever.

Every removed row is counted in a :class:`~spectroparallax.sample.cutflow.CutFlow` with its reason.
"""

import numpy as np
from astropy.table import Table, join

from spectroparallax.archives.columns import as_float
from spectroparallax.sample.cutflow import CutFlow

#: allStar header keyword holding the number of rows before the logg reduction (see allstar.py).
NROWS_KEYWORD = "NROWSIN"


def _strip(column) -> np.ndarray:
    return np.char.strip(np.asarray(column, dtype=str))


def _best_gaia_match(gaia: Table) -> Table:
    """One Gaia row per 2MASS designation: where several Gaia sources share a 2MASS best
    neighbour, keep the brightest in G (the likeliest counterpart of a luminous giant)."""
    gaia = gaia.copy()
    gaia["tmass_designation"] = _strip(gaia["tmass_designation"])
    g = as_float(gaia["phot_g_mean_mag"])
    order = np.lexsort((np.where(np.isfinite(g), g, np.inf), gaia["tmass_designation"]))
    gaia = gaia[order]
    _, first = np.unique(gaia["tmass_designation"], return_index=True)
    best = gaia[np.sort(first)]
    best.meta["NSHARE2M"] = len(gaia) - len(best)
    return best


def select_parent(allstar: Table, gaia: Table, spectra: Table, sample_cfg: dict) -> tuple[Table, CutFlow]:
    """Apply the Parent Sample cuts (HER19 sec. 4).

    Parameters
    ----------
    allstar : Table
        allStar rows (columns of ``columns.ALLSTAR_COLUMNS``); its ``meta[NALLSTAR]``, if present, is
        the row count before an earlier logg reduction, so the cut-flow starts from the full table.
    gaia : Table
        Gaia query results (columns of ``columns.GAIA_COLUMNS``), any number of rows per star.
    spectra : Table
        One row per (APOGEE_ID, LOCATION_ID) with ``spectrum_status`` ('ok' when the file was read
        and normalized); rows absent from it count as having no spectrum.
    sample_cfg : dict
        ``config['sample']``: logg_min, logg_max, colour_cuts.

    Returns
    -------
    parent : Table
        allStar and Gaia columns of the kept stars, one row per APOGEE_ID, in allStar order.
    cutflow : CutFlow
    """
    n_all = int(allstar.meta.get(NROWS_KEYWORD, len(allstar)))
    stars = allstar.copy(copy_data=True)
    stars["APOGEE_ID"] = _strip(stars["APOGEE_ID"])
    stars["_row"] = np.arange(len(stars))

    flow = CutFlow(np.ones(len(stars), dtype=bool), start_label="allStar rows")
    logg = as_float(stars["LOGG"])
    flow.apply(
        f"logg outside ({sample_cfg['logg_min']}, {sample_cfg['logg_max']}] or missing",
        (logg > sample_cfg["logg_min"]) & (logg <= sample_cfg["logg_max"]),
        removed_upstream=n_all - len(stars),  # rows the allStar reduction already dropped
    )

    status = spectra["APOGEE_ID", "LOCATION_ID", "spectrum_status"].copy()
    status["APOGEE_ID"] = _strip(status["APOGEE_ID"])
    merged = join(stars["_row", "APOGEE_ID", "LOCATION_ID"], status, keys=["APOGEE_ID", "LOCATION_ID"], join_type="left")
    ok = np.zeros(len(stars), dtype=bool)
    ok[merged["_row"]] = np.ma.filled(merged["spectrum_status"], "") == "ok"
    flow.apply("no readable spectrum (aspcapStar missing, unreadable or not normalizable)", ok)

    flow.apply("repeat observation of a star (kept its highest-S/N row with a spectrum)", _best_rows(stars, flow.alive))

    gaia = _best_gaia_match(gaia)
    designation = np.char.replace(stars["APOGEE_ID"], "2M", "", count=1)
    index = {d: i for i, d in enumerate(gaia["tmass_designation"])}
    gaia_row = np.array([index.get(d, -1) for d in designation])
    flow.apply("no Gaia DR2 source with this 2MASS best neighbour", gaia_row >= 0)

    matched = gaia[np.where(gaia_row >= 0, gaia_row, 0)]
    matched.remove_columns([c for c in matched.colnames if c in stars.colnames])
    for name in matched.colnames:
        stars[name] = matched[name]

    phot = _photometry_present(stars)
    flow.apply("missing Gaia G, BP or RP photometry (or non-positive flux error)", phot["gaia"])
    flow.apply("missing 2MASS J, H or K (or non-positive error)", phot["tmass"])
    flow.apply("missing AllWISE W1 or W2 (or non-positive error)", phot["wise"])
    flow.apply("BP - RP not finite", np.isfinite(as_float(stars["bp_rp"])))
    flow.apply("Gaia phot_variable_flag VARIABLE", _strip(stars["phot_variable_flag"]) != "VARIABLE")

    cuts = sample_cfg["colour_cuts"]
    j, h, k = (as_float(stars[b]) for b in ("J", "H", "K"))
    bp_rp = as_float(stars["phot_bp_mean_mag"]) - as_float(stars["phot_rp_mean_mag"])
    w2 = as_float(stars["w2mpro"])
    with np.errstate(invalid="ignore"):
        flow.apply(
            f"eq. 6: J - K >= {cuts['jk_intercept']} + {cuts['jk_slope']} (BP - RP)",
            (j - k) < cuts["jk_intercept"] + cuts["jk_slope"] * bp_rp,
        )
        flow.apply(f"eq. 7: H - W2 <= {cuts['hw2_min']}", (h - w2) > cuts["hw2_min"])

    parent = stars[flow.alive]
    parent.remove_column("_row")
    parent.meta = {"NSHARE2M": gaia.meta["NSHARE2M"]}
    return parent, flow


def _best_rows(stars: Table, alive: np.ndarray) -> np.ndarray:
    """Mask keeping, per APOGEE_ID among the alive rows, the row with the highest SNR."""
    snr = np.where(alive, np.nan_to_num(as_float(stars["SNR"]), nan=-np.inf), -np.inf)
    order = np.lexsort((-snr, stars["APOGEE_ID"]))
    ids = np.asarray(stars["APOGEE_ID"])[order]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    keep = np.zeros(len(stars), dtype=bool)
    keep[order[first]] = True
    return keep | ~alive


def _photometry_present(stars: Table) -> dict:
    """Masks of complete photometry with positive uncertainties, per survey."""
    def good(value, error):
        v, e = as_float(stars[value]), as_float(stars[error])
        with np.errstate(invalid="ignore"):
            return np.isfinite(v) & np.isfinite(e) & (e > 0)

    gaia = np.ones(len(stars), dtype=bool)
    for band in ("g", "bp", "rp"):
        mag = as_float(stars[f"phot_{band}_mean_mag"])
        gaia &= np.isfinite(mag) & good(f"phot_{band}_mean_flux", f"phot_{band}_mean_flux_error")
        with np.errstate(invalid="ignore"):
            gaia &= as_float(stars[f"phot_{band}_mean_flux"]) > 0
    tmass = good("J", "J_ERR") & good("H", "H_ERR") & good("K", "K_ERR")
    wise = good("w1mpro", "w1mpro_error") & good("w2mpro", "w2mpro_error")
    return {"gaia": gaia, "tmass": tmass, "wise": wise}


def training_set(parent: Table, training_cfg: dict, fold: str | None = None) -> tuple[np.ndarray, CutFlow]:
    """Training Set mask over ``parent`` (HER19 eq. 8-10), optionally within one fold.

    A finite Gaia parallax is required; negative parallaxes stay, and nothing cuts on parallax or
    on parallax / error.
    """
    in_fold = np.ones(len(parent), dtype=bool) if fold is None else np.asarray(parent["fold"]) == fold
    flow = CutFlow(in_fold, start_label=f"Parent Sample{'' if fold is None else ' ' + fold}")

    parallax = as_float(parent["parallax"])
    error = as_float(parent["parallax_error"])
    vpu = as_float(parent["visibility_periods_used"])
    chi2 = as_float(parent["astrometric_chi2_al"])
    n_good = as_float(parent["astrometric_n_good_obs_al"])
    with np.errstate(invalid="ignore", divide="ignore"):
        ruwe_like = chi2 / np.sqrt(n_good - 5)
        flow.apply("no Gaia parallax", np.isfinite(parallax) & np.isfinite(error) & (error > 0))
        flow.apply(f"eq. 8: parallax_error >= {training_cfg['parallax_error_max']} mas",
                   error < training_cfg["parallax_error_max"])
        flow.apply(f"eq. 9: visibility_periods_used < {training_cfg['visibility_periods_min']}",
                   vpu >= training_cfg["visibility_periods_min"])
        flow.apply(f"eq. 10: astrometric_chi2_al / sqrt(n_good_obs_al - 5) > {training_cfg['astrometric_chi2_max']}",
                   ruwe_like <= training_cfg["astrometric_chi2_max"])
    return flow.alive, flow
