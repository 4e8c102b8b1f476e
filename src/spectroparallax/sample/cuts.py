"""The Parent Sample and the Training Sets: the cuts of HER19 sec. 4 (eq. 6-10).

Parent Sample: APOGEE stars with 0 < logg <= 2.2, a readable spectrum, one row per star, a 2MASS-
based APOGEE_ID, a Gaia DR2 match with complete photometry in G, BP, RP, J, H, K, W1, W2 (finite,
positive errors), not flagged VARIABLE, the colour cuts of eq. 6 and 7, and one APOGEE star per Gaia
source. Training Sets: Parent stars of a fold with a finite Gaia parallax, a usable parallax_error
and the astrometric quality cuts of eq. 8-10. There is no cut on parallax or on parallax / error,
ever.

The ``duplicates`` switch (spectroparallax.modes) picks how a star observed in several allStar rows
(one per telescope and field) is reduced to one, and with it the order of the cuts: ``improved``
drops the rows the archive flags as non-primary duplicates (EXTRATARG bit 4, value 16: "not highest
S/N"), then, where a star still has several unflagged rows, keeps the highest-S/N one with a
readable spectrum (the order above); ``paper`` runs the cuts in the order of parent_sample.py and
infer_parallax.py @ 7e102f0 and keeps the first allStar row of an APOGEE_ID, as np.unique does
(:func:`select_parent`).

Every removed row is counted in a :class:`~spectroparallax.sample.cutflow.CutFlow` with its reason;
a cut that empties a sample raises :class:`~spectroparallax.sample.cutflow.EmptySampleError`, one
line saying which cut, the counts and what to change.
"""

import numpy as np
from astropy.table import Table, join

from spectroparallax.archives.columns import STAR_KEYS, as_float, tmass_designation
from spectroparallax.sample.cutflow import CutFlow, EmptySampleError

#: allStar header keyword holding the number of rows before the logg reduction (see allstar.py).
NROWS_KEYWORD = "NROWSIN"
#: Smallest parallax_error [mas] taken as a real measurement. Gaia DR2's best parallaxes have errors
#: of ~0.02 mas; a value 20 times below that is a placeholder (0, 1e-12...), and as a weight
#: 1 / error^2 in eq. 2-3 it would swamp every other star and stall the fit.
PARALLAX_ERROR_FLOOR = 1e-3
#: What to change when a Parent Sample cut leaves no star, by the start of the cut's reason.
_PARENT_FIX = {
    "logg": "check sample.logg_min / logg_max and the allStar file (logs of reduce_allstar)",
    "no readable spectrum": "check the aspcapStar manifests (resources/<survey>/spectra/) and the normalize_shard logs",
    "APOGEE_ID": "the allStar APOGEE_IDs must be '2M' + a 2MASS designation to be matched to Gaia",
    "no Gaia": ("check the Gaia chunks resources/<survey>/gaia_<release>/chunk_*.fits (0 rows?) and the gaia.* tables "
                "in config.yaml; delete the chunks to query again"),
    "missing": "check the photometry columns of the Gaia chunks and of the allStar file",
    "BP - RP": "check bp_rp in the Gaia chunks",
    "Gaia phot_variable_flag": "check phot_variable_flag in the Gaia chunks",
    "eq. 6": "check sample.colour_cuts.jk_intercept / jk_slope",
    "eq. 7": "check sample.colour_cuts.hw2_min",
    "2MASS Ks not positive": "check the K column of the allStar file",
    "AllWISE W1 or W2 not finite": "check the w1mpro / w2mpro columns of the Gaia chunks",
    "2MASS J, H, K or AllWISE": "check the photometry and error columns of the allStar file and the Gaia chunks",
}
_TRAINING_FIX = {
    "no Gaia parallax": "check the parallax column of the Gaia chunks",
    "eq. 8 context": "check the parallax_error column of the Gaia chunks",
    "eq. 8:": "raise sample.training.parallax_error_max",
    "eq. 9": "lower sample.training.visibility_periods_min",
    "eq. 10": "raise sample.training.astrometric_chi2_max",
    "ruwe": "raise sample.training.ruwe_max, or set switches.quality_cut: paper for eq. 9-10",
}


def _fix(table: dict, reason: str) -> str:
    return next((fix for key, fix in table.items() if reason.startswith(key)), "")


def _strip(column) -> np.ndarray:
    return np.char.strip(np.asarray(column, dtype=str))


def _best_gaia_match(gaia: Table) -> tuple[Table, CutFlow]:
    """One Gaia row per 2MASS designation, sorted by designation, and the cut-flow of the Gaia rows.

    Where several Gaia sources share a 2MASS best neighbour, keep the brightest in G (the likeliest
    counterpart of a luminous giant); the others are counted in the returned CutFlow.
    """
    gaia = gaia.copy()
    gaia["tmass_designation"] = _strip(gaia["tmass_designation"])
    g = as_float(gaia["phot_g_mean_mag"])
    order = np.lexsort((np.where(np.isfinite(g), g, np.inf), gaia["tmass_designation"]))
    gaia = gaia[order]
    first = np.ones(len(gaia), dtype=bool)
    first[1:] = gaia["tmass_designation"][1:] != gaia["tmass_designation"][:-1]
    flow = CutFlow(np.ones(len(gaia), dtype=bool), start_label="Gaia rows (2MASS best-neighbour matches)")
    flow.apply("another Gaia source shares this 2MASS best neighbour (kept the brightest in G)", first)
    best = gaia[first]
    best.meta["NSHARE2M"] = len(gaia) - len(best)
    return best, flow


#: Values of the ``duplicates`` switch (spectroparallax.modes.SWITCHES).
DUPLICATE_RULES = ("paper", "improved")


def select_parent(allstar: Table, gaia: Table, spectra: Table, sample_cfg: dict,
                  duplicates: str = "improved") -> tuple[Table, CutFlow]:
    """Apply the Parent Sample cuts (HER19 sec. 4).

    ``duplicates="improved"``: logg, EXTRATARG duplicate flag, readable spectrum, one row per
    APOGEE_ID (its highest-S/N unflagged row with a spectrum), 2MASS-based ID, Gaia match, Gaia / 2MASS / AllWISE photometry with positive
    errors, BP - RP, VARIABLE, eq. 6, eq. 7, one APOGEE star per Gaia source; the parent is in
    allStar order. ``duplicates="paper"``: the order of the paper's code (:func:`_select_parent_paper`).

    Parameters
    ----------
    allstar : Table
        allStar rows (columns of ``columns.ALLSTAR_COLUMNS``); its ``meta[NALLSTAR]``, if present, is
        the row count before an earlier logg reduction, so the cut-flow starts from the full table.
    gaia : Table
        Gaia query results (columns of ``columns.GAIA_COLUMNS``), any number of rows per star.
    spectra : Table
        One row per allStar row, keyed by (APOGEE_ID, TELESCOPE, FIELD), with ``spectrum_status`` ('ok' when the file was read
        and normalized); rows absent from it count as having no spectrum.
    sample_cfg : dict
        ``config['sample']``: logg_min, logg_max, colour_cuts.

    Returns
    -------
    parent : Table
        allStar and Gaia columns of the kept stars, one row per APOGEE_ID; improved: also one per
        Gaia source_id, in allStar order; paper: sorted by APOGEE_ID (np.unique's order), and two
        APOGEE stars may share a Gaia source, as in the paper.
    cutflow : CutFlow
        The Parent Sample's cuts; its ``inputs`` hold the Gaia rows' own cut-flow.

    Raises EmptySampleError (one line: the cut, the counts, what to change) if a cut leaves no star.
    """
    if duplicates not in DUPLICATE_RULES:
        raise ValueError(f"select_parent: duplicates must be one of {', '.join(DUPLICATE_RULES)}, got {duplicates!r}")
    n_all = int(allstar.meta.get(NROWS_KEYWORD, len(allstar)))
    stars = allstar.copy(copy_data=True)
    stars["APOGEE_ID"] = _strip(stars["APOGEE_ID"])
    stars["_row"] = np.arange(len(stars))

    flow = CutFlow(np.ones(len(stars), dtype=bool), start_label="allStar rows", stage="select_samples: Parent Sample")

    def cut(reason, keep, **kwargs):
        flow.apply(reason, keep, fix=_fix(_PARENT_FIX, reason), **kwargs)

    logg = as_float(stars["LOGG"])
    cut(f"logg outside ({sample_cfg['logg_min']}, {sample_cfg['logg_max']}] or missing",
        (logg > sample_cfg["logg_min"]) & (logg <= sample_cfg["logg_max"]),
        removed_upstream=n_all - len(stars))  # rows the allStar reduction already dropped

    ok = _spectrum_ok(stars, spectra)
    if duplicates == "paper":
        return _select_parent_paper(stars, gaia, ok, sample_cfg, flow, cut)
    cut(DUPLICATE_FLAGGED, (np.asarray(stars["EXTRATARG"], dtype=np.int64) & EXTRATARG_DUPLICATE) == 0)
    cut(NO_SPECTRUM, ok)

    cut(REPEAT_UNFLAGGED, _best_rows(stars, flow.alive))

    designation = tmass_designation(stars["APOGEE_ID"])
    cut(NOT_2MASS, designation != "")

    gaia = _match_gaia(stars, gaia, designation, flow, cut)

    phot = _photometry_present(stars)
    cut(GAIA_PHOTOMETRY, phot["gaia"])
    cut("missing 2MASS J, H or K (or non-positive error)", phot["tmass"])
    cut("missing AllWISE W1 or W2 (or non-positive error)", phot["wise"])
    cut(BP_RP, np.isfinite(as_float(stars["bp_rp"])))
    cut(VARIABLE, _strip(stars["phot_variable_flag"]) != "VARIABLE")

    cuts = sample_cfg["colour_cuts"]
    j, h, k = (as_float(stars[b]) for b in ("J", "H", "K"))
    bp_rp = as_float(stars["phot_bp_mean_mag"]) - as_float(stars["phot_rp_mean_mag"])
    w2 = as_float(stars["w2mpro"])
    with np.errstate(invalid="ignore"):
        cut(f"eq. 6: J - K >= {cuts['jk_intercept']} + {cuts['jk_slope']} (BP - RP)",
            (j - k) < cuts["jk_intercept"] + cuts["jk_slope"] * bp_rp)
        cut(f"eq. 7: H - W2 <= {cuts['hw2_min']}", (h - w2) > cuts["hw2_min"])

    cut("shares its Gaia source_id with another APOGEE star (kept the highest-S/N one)",
        _one_star_per_source(stars, flow.alive))

    parent = stars[flow.alive]
    parent.remove_column("_row")
    parent.meta = {"NSHARE2M": gaia.meta["NSHARE2M"]}
    return parent, flow


#: EXTRATARG bit 4 (value 16), DUPLICATE: "Non-primary (not highest S/N) duplicate" (sas_layout.md
#: sec. 3, from the APOGEE pipeline's ExtratargBitMask).
EXTRATARG_DUPLICATE = 16
DUPLICATE_FLAGGED = "non-primary duplicate row of a star (EXTRATARG bit 4: not its highest-S/N row)"
REPEAT_UNFLAGGED = ("repeat observation of a star not flagged as duplicate (kept its highest-S/N row with a "
                    "spectrum)")
NO_SPECTRUM = "no readable spectrum (aspcapStar missing, unreadable or not normalizable)"
NO_GAIA = "no Gaia DR2 source with this 2MASS best neighbour"
NOT_2MASS = "APOGEE_ID is not '2M' + a 2MASS designation (no 2MASS best neighbour to look up in Gaia)"
GAIA_PHOTOMETRY = "missing Gaia G, BP or RP photometry (or non-positive flux error)"
VARIABLE = "Gaia phot_variable_flag VARIABLE"
BP_RP = "BP - RP not finite"
#: The paper's own test for a missing 2MASS magnitude: J, H, K > -100 (allStar writes -9999), with
#: J_ERR, H_ERR, K_ERR > 0 (infer_parallax.py @ 7e102f0, cut_finite).
PAPER_TMASS_MISSING_BELOW = -100.0


def _spectrum_ok(stars: Table, spectra: Table) -> np.ndarray:
    """Mask of the allStar rows whose (APOGEE_ID, TELESCOPE, FIELD) spectrum was read and normalized."""
    keys = list(STAR_KEYS)
    status = spectra[[*keys, "spectrum_status"]].copy()
    left = stars[["_row", *keys]].copy()
    for key in keys:
        status[key] = _strip(status[key]) if len(status) else np.zeros(0, "U1")
        left[key] = _strip(left[key]) if len(left) else np.zeros(0, "U1")
    ok = np.zeros(len(stars), dtype=bool)
    if len(status) and len(stars):
        merged = join(left, status, keys=keys, join_type="left")
        ok[merged["_row"]] = np.ma.filled(merged["spectrum_status"], "") == "ok"
    return ok


def _match_gaia(stars: Table, gaia: Table, designation: np.ndarray, flow: CutFlow, cut) -> Table:
    """Cut the rows without a Gaia source for their 2MASS designation and add the matched Gaia
    columns to ``stars`` (in place); returns the Gaia rows kept, one per designation."""
    gaia, gaia_flow = _best_gaia_match(gaia)
    flow.inputs.append(("gaia", gaia_flow))
    keys = np.asarray(gaia["tmass_designation"], dtype=str)
    at = np.minimum(np.searchsorted(keys, designation), max(len(keys) - 1, 0))
    gaia_row = np.where((designation != "") & (keys[at] == designation) if len(keys) else False, at, -1)
    cut(NO_GAIA, gaia_row >= 0)

    matched = gaia[np.where(gaia_row >= 0, gaia_row, 0)]
    matched.remove_columns([c for c in matched.colnames if c in stars.colnames])
    for name in matched.colnames:
        stars[name] = matched[name]
    return gaia


def _raw(column) -> np.ndarray:
    """A column as float64 as the paper's code saw it: masked entries NaN, allStar's -9999 kept."""
    return np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)


def _select_parent_paper(stars: Table, gaia: Table, spectrum_ok: np.ndarray, sample_cfg: dict, flow: CutFlow,
                         cut) -> tuple[Table, CutFlow]:
    """The Parent Sample as the paper's code made it, after the logg cut (already applied to ``flow``).

    parent_sample.py @ 7e102f0 starts from the Gaia DR2 x APOGEE cross-match and cuts, in this order:
    0 < LOGG <= 2.2; K > 0; finite bp_rp; finite w2mpro and w1mpro; one row per APOGEE ID, the first
    (np.unique(..., return_index=True)); phot_variable_flag != 'VARIABLE'; a spectrum found. Then
    infer_parallax.py @ 7e102f0 keeps (J - K) < 0.4 + 0.45 bp_rp (eq. 6, Gaia's bp_rp column),
    (H - w2mpro) > -0.05 (eq. 7), and J, H, K > -100 with J_ERR, H_ERR, K_ERR > 0, finite W1, W2 and
    w1mpro_error, w2mpro_error > 0, as one mask; here each is its own cut-flow row, in that order, on
    the values as the paper read them (-9999 is a number there). The cross-match itself (2MASS-based
    APOGEE_ID, a Gaia source) comes right after logg: the allStar reduction has already cut logg on
    every row, so logg stays first and counts them. The project's check that the Gaia fluxes behind
    the G, BP, RP errors are usable ends the list (features need them; the paper had no such cut).
    There is no one-star-per-Gaia-source cut (the paper had none). Like np.unique, the parent comes
    out sorted by APOGEE_ID.
    """
    designation = tmass_designation(stars["APOGEE_ID"])
    cut(NOT_2MASS, designation != "")
    gaia = _match_gaia(stars, gaia, designation, flow, cut)

    with np.errstate(invalid="ignore"):
        cut("2MASS Ks not positive (the paper's K > 0; allStar's -9999 = missing)", _raw(stars["K"]) > 0)
        cut(BP_RP, np.isfinite(_raw(stars["bp_rp"])))
        cut("AllWISE W1 or W2 not finite", np.isfinite(_raw(stars["w2mpro"])) & np.isfinite(_raw(stars["w1mpro"])))
        cut("repeat observation of a star (kept its first allStar row, as np.unique)", _first_rows(stars, flow.alive))
        cut(VARIABLE, _strip(stars["phot_variable_flag"]) != "VARIABLE")
        cut(NO_SPECTRUM, spectrum_ok)

        cuts = sample_cfg["colour_cuts"]
        j, h, k = (_raw(stars[b]) for b in ("J", "H", "K"))
        w1, w2 = _raw(stars["w1mpro"]), _raw(stars["w2mpro"])
        cut(f"eq. 6: J - K >= {cuts['jk_intercept']} + {cuts['jk_slope']} (BP - RP)",
            (j - k) < cuts["jk_intercept"] + cuts["jk_slope"] * _raw(stars["bp_rp"]))
        cut(f"eq. 7: H - W2 <= {cuts['hw2_min']}", (h - w2) > cuts["hw2_min"])
        floor = PAPER_TMASS_MISSING_BELOW
        complete = (j > floor) & (h > floor) & (k > floor) & np.isfinite(w1) & np.isfinite(w2)
        for error in ("J_ERR", "H_ERR", "K_ERR", "w1mpro_error", "w2mpro_error"):
            complete &= _raw(stars[error]) > 0
        cut(f"2MASS J, H, K or AllWISE W1, W2 missing or with non-positive error (J, H, K <= {floor:g}, "
            "an error <= 0 or NaN)", complete)
    cut(GAIA_PHOTOMETRY, _photometry_present(stars)["gaia"])

    parent = stars[flow.alive]
    parent = parent[np.argsort(parent["APOGEE_ID"], kind="stable")]
    parent.remove_column("_row")
    parent.meta = {"NSHARE2M": gaia.meta["NSHARE2M"]}
    return parent, flow


def _first_rows(stars: Table, alive: np.ndarray) -> np.ndarray:
    """Mask keeping, per APOGEE_ID among the alive rows, its first row in allStar order (np.unique's
    first occurrence); rows not alive are left alone."""
    candidates = np.flatnonzero(alive)
    _, first = np.unique(np.asarray(stars["APOGEE_ID"])[candidates], return_index=True)
    keep = ~np.asarray(alive, dtype=bool)
    keep[candidates[first]] = True
    return keep


def _one_star_per_source(stars: Table, alive: np.ndarray) -> np.ndarray:
    """Mask keeping, per Gaia source_id among the alive rows, the row with the highest SNR (ties:
    the first allStar row). Rows without a source_id are not compared."""
    source = np.ma.filled(np.ma.asarray(stars["source_id"], dtype=np.int64), -1)
    snr = np.nan_to_num(as_float(stars["SNR"]), nan=-np.inf)
    candidates = np.flatnonzero(alive & (source >= 0))
    order = candidates[np.lexsort((stars["_row"][candidates], -snr[candidates], source[candidates]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = source[order][1:] != source[order][:-1]
    keep = np.ones(len(stars), dtype=bool)
    keep[order[~first]] = False
    return keep


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

    A finite Gaia parallax and a parallax_error of at least PARALLAX_ERROR_FLOOR are required (the
    error is eq. 2-3's weight); negative parallaxes stay, and nothing cuts on parallax or on
    parallax / error. With ``ruwe_max`` in ``training_cfg`` (switches.quality_cut improved on a Gaia
    DR3 run) ruwe <= ruwe_max replaces eq. 9-10. Raises EmptySampleError if the fold has no Parent
    Sample star or a cut leaves none.
    """
    in_fold = np.ones(len(parent), dtype=bool) if fold is None else np.asarray(parent["fold"]) == fold
    name = "Training Set" + ("" if fold is None else f" {fold}")
    if not in_fold.any():
        raise EmptySampleError(f"select_samples: {name}: the Parent Sample has no star{'' if fold is None else ' in fold ' + fold} "
                               f"({len(parent)} Parent Sample stars in all); a model needs training stars in "
                               "every fold: enlarge the sample or lower model.n_folds")
    flow = CutFlow(in_fold, start_label=f"Parent Sample{'' if fold is None else ' ' + fold}",
                   stage=f"select_samples: {name}")

    def cut(reason, keep):
        flow.apply(reason, keep, fix=_fix(_TRAINING_FIX, reason))

    parallax = as_float(parent["parallax"])
    error = as_float(parent["parallax_error"])
    vpu = as_float(parent["visibility_periods_used"])
    chi2 = as_float(parent["astrometric_chi2_al"])
    n_good = as_float(parent["astrometric_n_good_obs_al"])
    with np.errstate(invalid="ignore", divide="ignore"):
        ruwe_like = chi2 / np.sqrt(n_good - 5)
        cut("no Gaia parallax", np.isfinite(parallax))
        cut(f"eq. 8 context: parallax_error missing, non-positive or below {PARALLAX_ERROR_FLOOR} mas "
            "(no usable weight)", np.isfinite(error) & (error >= PARALLAX_ERROR_FLOOR))
        cut(f"eq. 8: parallax_error >= {training_cfg['parallax_error_max']} mas",
            error < training_cfg["parallax_error_max"])
        if "ruwe_max" in training_cfg:
            if "ruwe" not in parent.colnames:
                raise KeyError("select_samples: the Parent Sample has no ruwe column (Gaia DR2 has none): the ruwe "
                               "cut needs Gaia DR3 chunks; set switches.quality_cut: paper for eq. 9-10")
            cut(f"ruwe > {training_cfg['ruwe_max']} (Gaia DR3's quality cut in place of eq. 9-10)",
                as_float(parent["ruwe"]) <= training_cfg["ruwe_max"])
        else:
            cut(f"eq. 9: visibility_periods_used < {training_cfg['visibility_periods_min']}",
                vpu >= training_cfg["visibility_periods_min"])
            cut(f"eq. 10: astrometric_chi2_al / sqrt(n_good_obs_al - 5) > {training_cfg['astrometric_chi2_max']}",
                ruwe_like <= training_cfg["astrometric_chi2_max"])
    return flow.alive, flow
