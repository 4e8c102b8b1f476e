"""The published catalog of HER19 (Zenodo record 1468053): reading, download, and comparison with ours.

Column mapping. The published file ``data_HoggEilersRix2018.fits`` (44784 rows, one binary table,
no header keywords) uses our catalog's column names, with the same meaning and units:

==================  ======  ===========================================================
column              unit    meaning
==================  ======  ===========================================================
2MASS_ID                    APOGEE / 2MASS identifier (the join key)
Gaia_parallax       mas     Gaia DR2 parallax **plus the 0.048 mas offset** (30 rows masked)
Gaia_parallax_err   mas     Gaia DR2 parallax uncertainty (30 rows masked)
spec_parallax       mas     out-of-fold spectrophotometric parallax
spec_parallax_err   mas     its uncertainty
training_set                1 if the star is in a Training Set
sample                      fold label, A or B
==================  ======  ===========================================================

So every statistic of :mod:`spectroparallax.catalog.stats` applies to it unchanged, with the offset
0.048 mas (:data:`spectroparallax.catalog.stats.PUBLISHED_OFFSET`; the file has no ``PLXOFFST``). It has
none of our ``source_id``, ``ra``, ``dec``, ``flag``.
"""

import hashlib
from pathlib import Path

import numpy as np
from astropy.table import Table, join

from spectroparallax.archives import download
from spectroparallax.catalog import stats
from spectroparallax.archives.columns import as_float
from spectroparallax.io.errors import ArchiveError, InputFileError, MissingColumnError, one_line

#: Where the paper's catalog is published (Zenodo record 1468053).
PUBLISHED_URL = "https://zenodo.org/records/1468053/files/data_HoggEilersRix2018.fits"
ARCHIVE = "Zenodo"
#: Columns both catalogs share; the comparison needs all of them.
CATALOG_COLUMNS = ("2MASS_ID", *stats.SUMMARY_COLUMNS)
#: Columns of each catalog carried into the joined table, with their descriptions.
_JOINED = {
    "Gaia_parallax": "Gaia DR2 parallax plus the catalog's offset",
    "Gaia_parallax_err": "Gaia DR2 parallax uncertainty",
    "spec_parallax": "spectrophotometric parallax",
    "spec_parallax_err": "uncertainty of spec_parallax",
    "training_set": "1 if the star is in a Training Set",
    "sample": "fold label",
}
_READ_ADVICE = ("give a spectrophotometric-parallax catalog: this workflow's "
                "results/catalog/spectrophotometric_parallaxes.{fits,csv} or the published data_HoggEilersRix2018.fits")


def read_catalog(path, required=stats.SUMMARY_COLUMNS) -> Table:
    """Read a catalog (ours or the published one; FITS, CSV or ECSV by suffix) with ``required`` columns.

    Raises InputFileError (one line naming the file) if it is missing or not a readable table,
    MissingColumnError naming every absent column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file", _READ_ADVICE)
    try:
        cat = Table.read(path, format="ascii.csv" if path.suffix.lower() == ".csv" else None)
    except Exception as exc:  # astropy raises many types for a file that is not a table
        raise InputFileError(path, f"not a readable table ({type(exc).__name__}: {one_line(exc)[:160]})",
                             _READ_ADVICE) from exc
    missing = [name for name in required if name not in cat.colnames]
    if missing:
        raise MissingColumnError(path, missing, _READ_ADVICE)
    return cat


def md5sum(path) -> str:
    """Hex MD5 digest of a file (what Zenodo lists for each file)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_published(path, md5: str | None = None, size: int | None = None) -> str | None:
    """Why ``path`` is not the published catalog (wrong size or MD5, unreadable, columns missing), or None."""
    path = Path(path)
    if size is not None and path.stat().st_size != size:
        return f"size {path.stat().st_size} bytes, expected {size}"
    if md5 is not None and md5sum(path) != md5.lower():
        return f"MD5 {md5sum(path)}, expected {md5.lower()}"
    try:
        read_catalog(path, CATALOG_COLUMNS)
    except InputFileError as exc:
        return exc.problem
    return None


def download_published(url: str, dest, *, md5: str | None = None, size: int | None = None, retries: int = 4,
                       backoff: float = 1.0, timeout: float = 60.0) -> Path:
    """Fetch the published catalog from ``url`` to ``dest``; return ``dest``.

    Resumable, retried, checked (``md5``, ``size`` [bytes] if given, and the columns) and atomic,
    as :func:`spectroparallax.archives.download.fetch`: a wrong file is fetched again, then reported.
    Raises ArchiveUnreachable / ArchiveError with one line naming Zenodo, the URL and what to do.
    """
    dest = Path(dest)
    try:
        download.fetch(url, dest, retries=retries, backoff=backoff, timeout=timeout,
                       validate=lambda part: check_published(part, md5, size))
    except ArchiveError as exc:
        action = (f"retry later, point published.url in config.yaml to a reachable copy, "
                  f"or put the file at {dest} yourself")
        raise type(exc)(ARCHIVE, url, exc.problem, action) from exc
    return dest


def _ids(cat: Table, name: str) -> np.ndarray:
    ids = np.char.strip(np.asarray(cat["2MASS_ID"], dtype=str))
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"{name} catalog: 2MASS_ID {unique[counts > 1][0]} appears {counts.max()} times "
                         f"({(counts > 1).sum()} repeated IDs); the join needs one row per star")
    return ids


def join_catalogs(ours: Table, published: Table) -> Table:
    """Stars in both catalogs, matched on 2MASS_ID: ``<column>_ours`` beside ``<column>_published``.

    Columns are those of ``_JOINED`` with units and descriptions; the header gives how many stars
    each catalog has (``N_OURS``, ``N_PUBL``) and how many matched (``N_MATCH``). Rows are sorted
    by 2MASS_ID. Raises ValueError naming a 2MASS_ID that appears twice in one catalog.
    """
    sides = {}
    for name, cat in (("ours", ours), ("published", published)):
        side = Table({"2MASS_ID": _ids(cat, name)})
        for column, text in _JOINED.items():
            side[f"{column}_{name}"] = cat[column]
            side[f"{column}_{name}"].unit = "mas" if "parallax" in column else None
            side[f"{column}_{name}"].description = f"{text} ({name})"
        sides[name] = side
    joined = join(sides["ours"], sides["published"], keys="2MASS_ID", join_type="inner")
    joined["2MASS_ID"].description = "APOGEE / 2MASS identifier"
    joined.meta = {"N_OURS": len(ours), "N_PUBL": len(published), "N_MATCH": len(joined),
                   "REFERENC": "Hogg, Eilers & Rix 2019, AJ 158, 147; Zenodo record 1468053"}
    return joined


def comparison_stats(joined: Table) -> dict:
    """How our spectrophotometric parallaxes compare with the published ones, star by star.

    ``scatter`` and ``bias`` are the robust scatter and median of (ours - published) / published
    over the matched stars with both values (``n_compared``); ``gaia_difference`` [mas] is the
    median difference of the Gaia_parallax columns (ours - published: the difference of the
    offsets if the Gaia values agree).
    """
    ours, theirs = as_float(joined["spec_parallax_ours"]), as_float(joined["spec_parallax_published"])
    both = np.isfinite(ours) & np.isfinite(theirs)
    scatter, bias = stats.scatter_and_bias(theirs[both], ours[both])
    gaia_diff = as_float(joined["Gaia_parallax_ours"]) - as_float(joined["Gaia_parallax_published"])
    return {"n_ours": int(joined.meta["N_OURS"]), "n_published": int(joined.meta["N_PUBL"]),
            "n_matched": len(joined), "n_compared": int(both.sum()), "scatter": scatter, "bias": bias,
            "gaia_difference": stats.median_or_nan(gaia_diff)}


def comparison_figure(joined: Table, result: dict, plot_range=(-0.35, 2.0)):
    """Ours against the published spectrophotometric parallax, and the histogram of their ratio.

    ``result`` is :func:`comparison_stats`'s; ``plot_range`` [mas] bounds both axes of the left
    panel (the paper's Fig. 2 range by default). Returns the matplotlib Figure.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    ours, theirs = as_float(joined["spec_parallax_ours"]), as_float(joined["spec_parallax_published"])
    both = np.isfinite(ours) & np.isfinite(theirs)
    fig = Figure(figsize=(11, 5), layout="constrained")
    left, right = fig.subplots(1, 2)
    lo, hi = plot_range
    left.scatter(theirs[both], ours[both], s=2, alpha=0.3, lw=0, color="k", rasterized=True,
                 label=f"stars in both catalogs (N = {result['n_compared']})")
    left.plot([lo, hi], [lo, hi], color="tab:red", lw=1, label="1:1")
    left.set(xlim=plot_range, ylim=plot_range, aspect="equal",
             xlabel="published spectrophotometric parallax (HER19) [mas]",
             ylabel="this run's spectrophotometric parallax [mas]")
    left.legend(loc="upper left")
    left.text(0.97, 0.03, f"robust scatter {100 * result['scatter']:.2f}%\nmedian bias {100 * result['bias']:+.2f}%",
              transform=left.transAxes, ha="right", va="bottom",
              bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    frac = stats.fractional_residuals(theirs[both], ours[both])
    right.hist(np.clip(frac, -0.5, 0.5), bins=np.linspace(-0.5, 0.5, 81), color="0.6")
    right.axvline(result["bias"], color="tab:red", label=f"median {100 * result['bias']:+.2f}%")
    right.axvspan(result["bias"] - result["scatter"], result["bias"] + result["scatter"], color="tab:red",
                  alpha=0.15, label=f"+/- robust scatter {100 * result['scatter']:.2f}%")
    right.set(xlim=(-0.5, 0.5), xlabel="(this run - published) / published (clipped to +/- 0.5)",
              ylabel="number of stars")
    right.legend(loc="upper left")
    fig.suptitle(f"This run against the published HER19 catalog: {result['n_matched']} of our "
                 f"{result['n_ours']} stars matched on 2MASS_ID ({result['n_published']} published)")
    return fig

