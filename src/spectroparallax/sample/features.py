"""The feature vectors of HER19 eq. 11 and their uncertainties.

x_n = [1, G, BP, RP, J, H, K, W1, W2, ln f_1 .. ln f_L]: Gaia DR2, 2MASS and AllWISE magnitudes
and the logarithm of the pseudo-continuum-normalized flux in the L kept APOGEE pixels. Feature
uncertainties (for eq. 5) are the catalogue errors, 1.0857 sigma_F / F for the Gaia magnitudes, and
sigma_f / f for ln f.
"""

import numpy as np
from astropy.table import Table

from spectroparallax.archives.columns import STAR_KEYS, as_float
from spectroparallax.io.npy_rows import npy_row_writer, read_npy_rows
from spectroparallax.sample.cutflow import EmptySampleError

#: Photometric features in the order of eq. 11, with the parent-table columns of value and error.
#: Gaia magnitudes take their error from the flux error (None here), see :func:`photometry`.
BANDS = {
    "G": ("phot_g_mean_mag", None),
    "BP": ("phot_bp_mean_mag", None),
    "RP": ("phot_rp_mean_mag", None),
    "J": ("J", "J_ERR"),
    "H": ("H", "H_ERR"),
    "K": ("K", "K_ERR"),
    "W1": ("w1mpro", "w1mpro_error"),
    "W2": ("w2mpro", "w2mpro_error"),
}
_GAIA_FLUX = {"G": "phot_g_mean_flux", "BP": "phot_bp_mean_flux", "RP": "phot_rp_mean_flux"}
#: 2.5 / ln(10): converts a fractional flux error into a magnitude error [mag].
MAG_PER_LN_FLUX = 2.5 / np.log(10.0)
#: The paper's rounded factor (magnitude_errors="paper"): infer_parallax.py @ 7e102f0,
#: ``phot_g_mean_mag_err = 1.09 * labels['phot_g_mean_flux_error'] / labels['phot_g_mean_flux']``.
PAPER_MAG_PER_LN_FLUX = 1.09
#: The paper's cap on the normalized-flux error (ln_flux_errors="paper"): infer_parallax.py @ 7e102f0,
#: ``ln_flux_err = np.clip(sigmas, 0, 0.05) / np.clip(fluxes, 0.01, 1.2) # 0.05 IS MAGIC NUMBER``.
PAPER_FLUX_ERR_MAX = 0.05
#: The two values of the magnitude_errors and ln_flux_errors switches (spectroparallax.modes).
SWITCH_VALUES = ("paper", "improved")


def _check_switch(name, value):
    if value not in SWITCH_VALUES:
        raise ValueError(f"features: {name} must be one of {', '.join(SWITCH_VALUES)}, got {value!r}")


def photometry_columns() -> list[str]:
    """The Parent Sample columns that :func:`photometry` reads (magnitudes, errors, Gaia fluxes)."""
    columns = []
    for band, (value, error) in BANDS.items():
        columns += [value, error] if error else [value, _GAIA_FLUX[band], _GAIA_FLUX[band] + "_error"]
    return columns


def photometry(parent: Table, magnitude_errors: str = "improved") -> tuple[np.ndarray, np.ndarray]:
    """Magnitudes and their errors, shape (n, 8) [mag], in the order of :data:`BANDS`.

    The Gaia errors are factor * sigma_F / F with factor 2.5 / ln(10) (magnitude_errors="improved")
    or the paper's 1.09 ("paper").
    """
    _check_switch("magnitude_errors", magnitude_errors)
    factor = PAPER_MAG_PER_LN_FLUX if magnitude_errors == "paper" else MAG_PER_LN_FLUX
    mags = np.empty((len(parent), len(BANDS)))
    errs = np.empty_like(mags)
    for j, (band, (value, error)) in enumerate(BANDS.items()):
        mags[:, j] = as_float(parent[value])
        if error is None:
            flux = as_float(parent[_GAIA_FLUX[band]])
            errs[:, j] = factor * as_float(parent[_GAIA_FLUX[band] + "_error"]) / flux
        else:
            errs[:, j] = as_float(parent[error])
    bad = ~np.isfinite(mags) | ~np.isfinite(errs) | (errs <= 0)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"star {parent['APOGEE_ID'][row]}: {list(BANDS)[col]} magnitude or error is missing or "
            f"non-positive ({bad.sum()} entries in all); the Parent Sample cuts should have removed it"
        )
    return mags, errs


def log_flux(flux: np.ndarray, err: np.ndarray, clip: tuple[float, float], ln_err_max: float,
             ln_flux_errors: str = "improved"):
    """ln of the normalized flux clipped to ``clip``, and its error sigma_f / f capped at ``ln_err_max``.

    Masked pixels arrive from the normalization with flux 1 and a huge error; the cap keeps such a
    pixel from dominating the propagated uncertainty (eq. 5) while still marking it as uninformative.
    ln_flux_errors="paper" gives the paper's error instead, clip(sigma_f, 0, 0.05) / f with f
    clipped to ``clip`` (``ln_err_max`` unused). Returns float32 arrays of the input shape.
    """
    _check_switch("ln_flux_errors", ln_flux_errors)
    clipped = np.clip(flux, clip[0], clip[1])
    ln_f = np.log(clipped, dtype=np.float32)
    if ln_flux_errors == "paper":
        with np.errstate(invalid="ignore", divide="ignore"):
            ln_err = (np.clip(err, 0.0, PAPER_FLUX_ERR_MAX) / clipped).astype(np.float32)
        return ln_f, ln_err
    with np.errstate(invalid="ignore", divide="ignore"):
        ln_err = np.minimum(err / clipped, ln_err_max).astype(np.float32)
    ln_err[~np.isfinite(ln_err)] = ln_err_max
    return ln_f, ln_err


def design_matrix(parent: Table, flux, err, clip, ln_err_max, *, ln_flux_errors: str = "improved",
                  magnitude_errors: str = "improved"):
    """Feature matrix X (n, 9 + L) and feature errors, float32 (eq. 11).

    ``flux`` and ``err`` are the normalized spectra of the parent stars (same row order) restricted
    to the kept pixels, shape (n, L). The constant feature has zero error. ``ln_flux_errors`` and
    ``magnitude_errors`` are the switches of :func:`log_flux` and :func:`photometry`.
    """
    flux = np.asarray(flux)
    if flux.shape[0] != len(parent):
        raise ValueError(f"{flux.shape[0]} spectra for {len(parent)} parent stars: rows must match")
    mags, mag_err = photometry(parent, magnitude_errors)
    ln_f, ln_err = log_flux(flux, np.asarray(err), clip, ln_err_max, ln_flux_errors)
    n = len(parent)
    X = np.empty((n, 1 + mags.shape[1] + ln_f.shape[1]), dtype=np.float32)
    X_err = np.empty_like(X)
    X[:, 0], X_err[:, 0] = 1.0, 0.0
    X[:, 1 : 1 + mags.shape[1]], X_err[:, 1 : 1 + mags.shape[1]] = mags, mag_err
    X[:, 1 + mags.shape[1] :], X_err[:, 1 + mags.shape[1] :] = ln_f, ln_err
    return X, X_err


def feature_index(pixels: np.ndarray, wavelengths: np.ndarray) -> Table:
    """Name every column of the design matrix: the constant, the bands, then one row per pixel.

    ``pixels`` are the kept APOGEE pixel indices and ``wavelengths`` their vacuum wavelengths
    [Angstrom]; ``penalized`` marks the spectral columns (the P operator of eq. 3).
    """
    n_phot = len(BANDS)
    names = ["offset", *BANDS] + [f"lnf_{w:.2f}" for w in wavelengths]
    kind = ["offset"] + ["photometry"] * n_phot + ["spectrum"] * len(pixels)
    table = Table(
        {
            "feature": np.arange(len(names)),
            "name": names,
            "kind": kind,
            "pixel": np.concatenate([np.full(1 + n_phot, -1), pixels]).astype(np.int32),
            "wavelength": np.concatenate([np.full(1 + n_phot, np.nan), wavelengths]),
            "penalized": np.array(kind) == "spectrum",
        }
    )
    table["wavelength"].unit = "Angstrom"
    table["pixel"].description = "APOGEE apStar pixel index (-1 for non-spectral features)"
    table["penalized"].description = "L1-regularized in eq. 3 (the P operator)"
    return table


def locate_spectra(parent: Table, shard_stars: list[Table]) -> tuple[np.ndarray, np.ndarray]:
    """Shard and row of each parent star's normalized spectrum: two int arrays (n_parent,).

    ``shard_stars[k]`` lists shard k's rows (APOGEE_ID, TELESCOPE, FIELD: columns.STAR_KEYS).
    Raises naming a parent star that has none.
    """
    def keys(table):
        key = np.char.strip(np.asarray(table[STAR_KEYS[0]], dtype=str))
        for name in STAR_KEYS[1:]:
            key = np.char.add(np.char.add(key, "@"), np.char.strip(np.asarray(table[name], dtype=str)))
        return key

    have = [keys(stars) for stars in shard_stars]
    have_keys = np.concatenate(have) if have else np.zeros(0, str)
    shard = np.repeat(np.arange(len(have)), [k.size for k in have]).astype(np.int64)
    row = np.concatenate([np.arange(k.size) for k in have]).astype(np.int64) if have else np.zeros(0, np.int64)
    # the last shard row of a key wins, as before
    order = np.lexsort((np.arange(have_keys.size), have_keys))[::-1]
    uniq, first = np.unique(have_keys[order], return_index=True)
    pick = order[first]
    want = keys(parent)
    at = np.clip(np.searchsorted(uniq, want), 0, max(uniq.size - 1, 0))
    found = (uniq[at] == want) if uniq.size else np.zeros(want.size, bool)
    if not found.all():
        star, telescope, field = (str(np.asarray(parent[k])[~found][0]).strip() for k in STAR_KEYS)
        raise ValueError(f"{int((~found).sum())} parent stars have no normalized spectrum, e.g. APOGEE_ID "
                         f"{star} of {telescope} field {field}; rerun the normalize_shard rules")
    located = np.stack([shard[pick[at]], row[pick[at]]], axis=1).reshape(-1, 2)
    return located[:, 0], located[:, 1]


def read_spectra_rows(shard_files, shard_of, row_of, pixels):
    """Normalized flux and error float32 (len(shard_of), len(pixels)) of the given (shard, row)s.

    ``shard_files[k]`` is shard k's pair of (flux, err) ``.npy`` paths; only the rows asked for
    are read (:func:`spectroparallax.io.npy_rows.read_npy_rows`).
    """
    flux = np.empty((len(shard_of), len(pixels)), dtype=np.float32)
    err = np.empty_like(flux)
    for k in np.unique(shard_of):
        mine = np.flatnonzero(shard_of == k)
        flux_path, err_path = shard_files[k]
        flux[mine] = np.take(read_npy_rows(flux_path, row_of[mine]), pixels, axis=1)
        err[mine] = np.take(read_npy_rows(err_path, row_of[mine]), pixels, axis=1)
    return flux, err


def write_design_matrix(parent, shard_stars, shard_files, pixels, X_path, X_err_path, *, clip, ln_err_max,
                        chunk_rows: int = 2000, ln_flux_errors: str = "improved",
                        magnitude_errors: str = "improved") -> tuple[int, int]:
    """Write X and X_err of eq. 11 for the Parent Sample to two float32 ``.npy`` files.

    ``shard_stars[k]`` and ``shard_files[k]`` (its (flux, err) ``.npy`` paths) describe the
    normalized shard k. Works through the parent stars ``chunk_rows`` at a time (their spectra
    read with :func:`read_spectra_rows`, then :func:`design_matrix`), appending each chunk's rows
    to the files, so memory holds one chunk whatever the sample size (X alone is 1.3 GB at the
    paper's 45k stars). ``ln_flux_errors`` and ``magnitude_errors``: see :func:`design_matrix`.
    Returns the shape of X.
    """
    _check_switch("ln_flux_errors", ln_flux_errors)
    _check_switch("magnitude_errors", magnitude_errors)
    if int(chunk_rows) != chunk_rows or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    if len(parent) == 0 or len(pixels) == 0:
        raise EmptySampleError(
            f"design_matrix: {len(parent)} Parent Sample stars x {len(pixels)} kept pixels: nothing to write; "
            "rerun select_samples (it stops with the cut that empties the sample) or check select_pixels "
            "(spectra.min_pixel_coverage)")
    shard_of, row_of = locate_spectra(parent, shard_stars)
    shape = (len(parent), 1 + len(BANDS) + len(pixels))
    with npy_row_writer(X_path, shape) as x_out, npy_row_writer(X_err_path, shape) as err_out:
        for a in range(0, len(parent), int(chunk_rows)):
            b = min(a + int(chunk_rows), len(parent))
            flux, err = read_spectra_rows(shard_files, shard_of[a:b], row_of[a:b], pixels)
            X, X_err = design_matrix(parent[a:b], flux, err, clip, ln_err_max, ln_flux_errors=ln_flux_errors,
                                     magnitude_errors=magnitude_errors)
            x_out.write(X)
            err_out.write(X_err)
    return shape
