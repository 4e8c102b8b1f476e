"""Write the whole mock survey to disk: allStar, aspcapStar files, Gaia VOTable and truth.

Layout below ``out_dir`` (the workflow uses resources/mock/)::

    sas/<sas.allstar_relpath(apogee)>                         allStar FITS table
    sas/<sas.aspcapstar_relpath(apogee, APOGEE_ID, LOCATION_ID)>  one aspcapStar per allStar row
    gaia_<release>_xmatch.vot.gz                              Gaia DR2/DR3 x 2MASS x AllWISE (gzip BINARY2)
    truth.fits                                                one row per allStar row
"""

import logging
from pathlib import Path

import numpy as np

from spectroparallax.archives import sas

from . import gaia_file, writers
from .catalog import check_knobs, simulate_catalog
from .spectra import instrument_continuum, observe_spectrum, true_normalized_flux

log = logging.getLogger(__name__)

TRUTH_FILE = "truth.fits"
_CHUNK = 500


def survey_paths(out_dir, apogee_cfg, gaia_release="dr2"):
    """Paths of the mock survey's files below ``out_dir``: dict sas, allstar, gaia, truth."""
    out_dir = Path(out_dir)
    return {"sas": out_dir / "sas", "allstar": out_dir / "sas" / sas.allstar_relpath(apogee_cfg),
            "gaia": out_dir / gaia_file.GAIA_FILE.format(release=gaia_release), "truth": out_dir / TRUTH_FILE}


def write_spectra(sas_root, apogee_cfg, allstar, truth, seed, n_lines, line_seed, weak_lines=0, weak_line_depth=0.0):
    """Write one aspcapStar file per allStar row whose truth spectrum_status is ok/unreadable.

    Spectra are made in chunks (bounded memory); row i's noise comes from a generator seeded by
    (seed, i), so the files do not depend on the chunk size. Returns the number written.
    """
    todo = np.flatnonzero(np.isin(truth["spectrum_status"], ["ok", "unreadable"]))
    for start in range(0, todo.size, _CHUNK):
        rows = todo[start:start + _CHUNK]
        t = truth[rows]
        true_flux = true_normalized_flux(t["teff"], t["logg"], t["fe_h"], t["alpha_m"], n_lines, line_seed,
                                         weak_lines, weak_line_depth)
        continuum = instrument_continuum(t["continuum_params"])
        for j, i in enumerate(rows):
            rng = np.random.default_rng([seed, 2, int(i)])
            flux, err = observe_spectrum(true_flux[j].astype(float), continuum[j], float(allstar["SNR"][i]),
                                         t["edge_zero_pixels"][j], int(t["n_nan_pixels"][j]), rng)
            path = Path(sas_root) / sas.aspcapstar_relpath(apogee_cfg, allstar["APOGEE_ID"][i],
                                                           allstar["LOCATION_ID"][i])
            writers.write_aspcapstar(path, allstar["APOGEE_ID"][i], flux, err,
                                     truncate=t["spectrum_status"][j] == "unreadable")
        log.info("mock spectra: %d of %d written", min(start + _CHUNK, todo.size), todo.size)
    return todo.size


def write_mock_survey(out_dir, apogee_cfg, n_stars, seed, gaia_release="dr2", **knobs):
    """Simulate and write the mock survey below ``out_dir``; return :func:`survey_paths`.

    ``apogee_cfg`` is config['apogee'] (release, apred, aspcap, results: the SAS layout);
    ``n_stars`` allStar rows; ``seed`` makes everything deterministic; ``knobs`` are the mock's
    physics knobs (config['mock'] without n_stars and seed; see catalog.DEFAULT_KNOBS);
    ``gaia_release`` (dr2 or dr3) the Gaia release whose archive result it imitates.
    """
    k = check_knobs(knobs)
    paths = survey_paths(out_dir, apogee_cfg, gaia_release)
    allstar, gaia, truth = simulate_catalog(n_stars, seed, apred=apogee_cfg["apred"], gaia_release=gaia_release,
                                            **knobs)
    log.info("mock catalogue: %d allStar rows, %d Gaia rows", len(allstar), len(gaia))
    n = write_spectra(paths["sas"], apogee_cfg, allstar, truth, seed, k["n_lines"], k["line_seed"],
                      k["weak_lines"], k["weak_line_depth"])
    log.info("mock spectra: %d files", n)
    writers.write_allstar(allstar, paths["allstar"])
    gaia_file.write_gaia_result(gaia, paths["gaia"])
    writers.write_truth(truth, paths["truth"])
    return paths
