"""Write the whole mock survey to disk: allStar, aspcapStar files, checksums, Gaia VOTable, truth.

Layout below ``out_dir`` (the workflow uses resources/mock/), with the mock's own SAS paths
(:mod:`.sas_tree`, from shared/data/sas_layout.md)::

    sas/<allstar_relpath(release, versions)>             allStar FITS table (+ allStarLite, lite=True)
    sas/<aspcapstar_relpath(release, versions, row)>     one aspcapStar per allStar row with a spectrum
    sas/<aspcapStar folder>/<sha1sum_name(...)>          the folder's checksum list
    gaia_<release>_xmatch.vot.gz                         Gaia DR2/DR3 x 2MASS x AllWISE (gzip BINARY2)
    truth.fits                                           one row per allStar row
"""

import logging
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import gaia_file, sas_tree, writers
from .catalog import ALLSTAR_MISSING, allstar_spec, check_knobs, simulate_catalog
from .spectra import (instrument_continuum, observe_spectrum, outside_aspcap_chips, true_normalized_flux,
                      chip_of_pixel)

log = logging.getLogger(__name__)

TRUTH_FILE = "truth.fits"
_CHUNK = 500


def survey_paths(out_dir, release, versions, lite=False, gaia_release="dr2"):
    """Paths of the mock survey's files below ``out_dir``: dict sas, allstar, gaia, truth (and
    allstar_lite when ``lite``)."""
    out_dir = Path(out_dir)
    paths = {"sas": out_dir / "sas", "allstar": out_dir / "sas" / sas_tree.allstar_relpath(release, versions),
             "gaia": out_dir / gaia_file.GAIA_FILE.format(release=gaia_release), "truth": out_dir / TRUTH_FILE}
    if lite:
        paths["allstar_lite"] = out_dir / "sas" / sas_tree.allstar_relpath(release, versions, lite=True)
    return paths


def no_data_pixels(release):
    """Pixels without data in every star of ``release`` beyond the mock's chip gaps and dead edges.

    DR16/DR17: everything outside ASPCAP's chip ranges (sas_layout.md sec. 5). DR14: none; the DR14
    mock keeps data in HER19's chip ranges up to their dead edges, 42 pixels beyond ASPCAP's range
    (2 at the blue chip's start, 20 at the ends of the green and red chips), because the paper
    counts 7405 pixels with data within HER19's ranges, more than the sheet's DR13-DR17 ASPCAP
    ranges leave there (7384), and the sheet did not check DR14's 2017 writer.
    """
    return None if release == "dr14" else outside_aspcap_chips()


def _model_spectra(allstar, rows, no_data, k):
    """HDU 3 of the rows' files: the noise-free normalized spectrum at the row's ASPCAP labels (the
    mock's "best fit"), zero where there are no data and for rows whose ASPCAP labels are missing."""
    labels = [np.asarray(allstar[c][rows], float) for c in ("TEFF", "LOGG", "FE_H", "ALPHA_M")]
    ok = np.all([np.isfinite(x) & (x != ALLSTAR_MISSING) for x in labels], axis=0)
    model = np.zeros((rows.size, no_data.size), dtype=np.float32)
    if ok.any():
        model[ok] = true_normalized_flux(*(x[ok] for x in labels), k["n_lines"], k["line_seed"],
                                         k["weak_lines"], k["weak_line_depth"])
    model[:, no_data] = 0.0
    return model


def write_spectra(sas_root, release, versions, allstar, truth, seed, k):
    """Write one aspcapStar file per allStar row whose truth spectrum_status is ok/unreadable, and
    each folder's sha1sum list (covering the files written; the truncated file listed with the
    complete file's sha1, so a truncated download is a checksum mismatch).

    Spectra are made in chunks (bounded memory); row i's noise comes from a generator seeded by
    (seed, 2, i), so the files do not depend on the chunk size. Returns the number written.
    """
    sas_root = Path(sas_root)
    todo = np.flatnonzero(np.isin(truth["spectrum_status"], ["ok", "unreadable"]))
    extra_dead = no_data_pixels(release)
    no_data = (chip_of_pixel() < 0) | (extra_dead if extra_dead is not None else False)
    records = writers.AllStarRecords(allstar)
    # The columns each file needs, read once (a Table row per star is slow).
    snr = np.asarray(allstar["SNR"], float)
    ids, telescopes, fields, locations, files = (allstar[c].tolist()
                                                 for c in ("APOGEE_ID", "TELESCOPE", "FIELD", "LOCATION_ID", "FILE"))
    sums = defaultdict(dict)
    for start in range(0, todo.size, _CHUNK):
        rows = todo[start:start + _CHUNK]
        t = truth[rows]
        true_flux = true_normalized_flux(t["teff"], t["logg"], t["fe_h"], t["alpha_m"], k["n_lines"],
                                         k["line_seed"], k["weak_lines"], k["weak_line_depth"])
        continuum = instrument_continuum(t["continuum_params"])
        model = _model_spectra(allstar, rows, no_data, k)
        for j, i in enumerate(rows):
            rng = np.random.default_rng([seed, 2, int(i)])
            flux, err = observe_spectrum(true_flux[j].astype(float), continuum[j], float(snr[i]),
                                         t["edge_zero_pixels"][j], int(t["n_nan_pixels"][j]), rng, extra_dead)
            where = (release, versions, telescopes[i], fields[i], locations[i])
            path = sas_root / sas_tree.aspcapstar_relpath(*where, ids[i], files[i])
            sums[(path.parent, sas_tree.sha1sum_name(*where))][path.name] = writers.write_aspcapstar(
                path, ids[i], flux, err, truncate=t["spectrum_status"][j] == "unreadable",
                model=model[j], records=records, row=int(i), release=release, version=versions["aspcap"])
        log.info("mock spectra: %d of %d written", min(start + _CHUNK, todo.size), todo.size)
    for (folder, name), files in sums.items():
        writers.write_sha1sums(folder / name, files)
    return todo.size


def write_mock_survey(out_dir, release, versions, n_stars, seed, *, lite=False, gaia_release="dr2", **knobs):
    """Simulate and write the mock survey below ``out_dir``; return :func:`survey_paths`.

    ``release`` is dr14, dr16 or dr17 and ``versions`` its version strings (sas_layout.md sec. 1):
    dr14 {apred: r8, aspcap: l31c, results: l31c.2}, dr16 {apred: r12, aspcap: l33}, dr17 {apred:
    dr17, aspcap: synspec_rev1}. ``lite`` also writes allStarLite (DR16/DR17). ``n_stars`` allStar
    rows; ``seed`` makes everything deterministic; ``knobs`` are the mock's physics knobs
    (config['mock'] without n_stars and seed; see catalog.DEFAULT_KNOBS); ``gaia_release`` (dr2 or
    dr3) the Gaia release whose archive result it imitates.
    """
    versions = sas_tree.check_versions(release, versions)
    k = check_knobs(knobs)
    paths = survey_paths(out_dir, release, versions, lite, gaia_release)
    allstar, gaia, truth = simulate_catalog(n_stars, seed, release=release, apred=versions["apred"],
                                            gaia_release=gaia_release, **knobs)
    log.info("mock catalogue (%s): %d allStar rows, %d Gaia rows", release, len(allstar), len(gaia))
    n = write_spectra(paths["sas"], release, versions, allstar, truth, seed, k)
    log.info("mock spectra: %d files", n)
    writers.write_allstar(allstar, paths["allstar"])
    if lite:
        writers.write_allstar(allstar[list(allstar_spec(release, lite=True))], paths["allstar_lite"])
    gaia_file.write_gaia_result(gaia, paths["gaia"])
    writers.write_truth(truth, paths["truth"])
    return paths
