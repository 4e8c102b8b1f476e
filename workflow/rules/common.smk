# Shared names and input functions for every rule file.
import functools
import math
import os
import sys
from pathlib import Path

import numpy as np
from astropy.table import Table
from snakemake.exceptions import WorkflowError

# The Snakefile itself uses the package too (SAS paths), from this checkout.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from spectroparallax import modes
from spectroparallax.archives import download, sas
from spectroparallax.archives.gaia_release import gaia_release
from spectroparallax.catalog.table import config_hash
from spectroparallax.io import jobsize, shards
from spectroparallax.sample import folds as sample_folds

# Rule scripts `import spectroparallax` through workflow/scripts/<stage>/spectroparallax, a link to
# src/spectroparallax (Snakemake puts a script's folder on sys.path), so the checkout's package is
# what runs, in a pip venv, in a per-rule conda environment and on cluster nodes alike.

SURVEY = config["survey"]
# The switches of the mode (spectroparallax/modes.py), each overridable under switches:. A rule
# gets the ones it uses as params, so a switch (or the mode) reruns exactly what it changes.
try:
    SWITCH = modes.resolve(config["mode"], config["switches"])
except ValueError as err:
    raise WorkflowError(str(err)) from None
# The paper's split (Gaia random_index parity) makes exactly two folds: refuse any other n_folds now,
# before a job runs, rather than in select_samples.
if SWITCH["split"] == "paper" and config["model"]["n_folds"] != sample_folds.PAPER_N_FOLDS:
    raise WorkflowError(sample_folds.paper_n_folds_error(config["model"]["n_folds"]))
# Everything a survey needs before the science starts lives under resources/<survey>/; everything
# the workflow makes of it under results/<survey>/, with its logs under logs/<survey>/ and the
# Snakemake benchmark files under benchmarks/out/<survey>/. Surveys never share or overwrite a file,
# and job sizes for one survey are never read off another's outputs.
DATA = f"resources/{SURVEY}"
RESULTS = f"results/{SURVEY}"
LOGS = f"logs/{SURVEY}"
BENCHMARKS = f"benchmarks/out/{SURVEY}"
# The mock survey writes a local SAS tree; a user's mirror is apogee.sas_root; otherwise we download.
MOCK_SAS = "resources/mock/sas"


# The APOGEE data release whose SAS layout and allStar columns the workflow reads: the survey, or
# on the mock the release whose formats the mock writes (mock.release). SAS_LAYOUT is that release's
# entry of apogee.versions and allstar_lite (sas.layout): every rule that builds a path gets it as
# a param, so editing another release's versions reruns nothing.
RELEASE = config["mock"]["release"] if SURVEY == "mock" else SURVEY
# allstar_lite is for DR16/DR17 (DR14 has no Lite file): ignored for DR14, so it reruns nothing there.
LITE = config["apogee"]["allstar_lite"] and sas.RELEASES[RELEASE].allstar_lite is not None
try:
    SAS_LAYOUT = sas.layout(RELEASE, config["apogee"]["versions"], lite=LITE)
except ValueError as err:
    raise WorkflowError(f"config.yaml: {err}") from None
N_SHARDS = config["apogee"]["download_shards"]
N_CHUNKS = config["gaia"]["query_chunks"]
ALLSTAR_REL = str(sas.allstar_relpath(SAS_LAYOUT))
# Where downloaded SAS files go (mirroring the SAS layout).
DOWNLOAD_ROOT = f"{DATA}/sas"


def sas_root():
    """The SAS tree files are read from: the mock's, a user's mirror, or our download folder."""
    if SURVEY == "mock":
        return MOCK_SAS
    return config["apogee"]["sas_root"] or DOWNLOAD_ROOT


def local_sas():
    """True when no file has to be downloaded."""
    return SURVEY == "mock" or config["apogee"]["sas_root"] is not None


def allstar_source(wildcards):
    """The allStar file reduce_allstar reads; on the mock, the tree mock_survey writes it into."""
    if SURVEY == "mock":
        return MOCK_SAS  # the mock_survey rule writes the whole tree
    return f"{sas_root()}/{ALLSTAR_REL}"


def select_pixels_inputs(wildcards):
    """select_pixels' inputs: the shards' errors and star tables; with switches.pixel_set paper also
    their normalized flux and the Parent Sample, as the paper drops the pixels whose flux is 1 in
    every parent star (select_samples reads only the shards' star tables: no cycle)."""
    inputs = {
        "err": expand(f"{RESULTS}/spectra/shard_{{shard}}/err.npy", shard=range(N_SHARDS)),
        "stars": expand(f"{RESULTS}/spectra/shard_{{shard}}/stars.ecsv", shard=range(N_SHARDS)),
    }
    if SWITCH["pixel_set"] == "paper":
        inputs["flux"] = expand(f"{RESULTS}/spectra/shard_{{shard}}/flux.npy", shard=range(N_SHARDS))
        inputs["parent"] = f"{RESULTS}/samples/parent.fits"
    return inputs


# The Gaia release (gaia.release, null = the APOGEE release's: archives/gaia_release.py). It names the
# mock's Gaia file and the chunks' folder, so a run on the other release never reuses a chunk.
try:
    GAIA_RELEASE = gaia_release(RELEASE, config["gaia"]["release"])
except ValueError as err:
    raise WorkflowError(str(err)) from None
GAIA_CHUNK = f"{DATA}/gaia_{GAIA_RELEASE}/chunk_{{chunk}}"
MOCK_GAIA = f"resources/mock/gaia_{GAIA_RELEASE}_xmatch.vot.gz"
# Gaia Archive names the TAP queries use (the release's block of gaia.tables); the mock's cross-match
# is a file, so they change nothing there.
GAIA_QUERY = {} if SURVEY == "mock" else {
    "tap_url": config["gaia"]["tap_url"], "tables": config["gaia"]["tables"][GAIA_RELEASE],
}


@functools.lru_cache
def _allstar_rows(path, mtime_ns):
    # astropy columns: FITS text comes back as str, as the rule script sees it
    return download.star_rows(SAS_LAYOUT, Table.read(path))


def aspcapstar_shard_inputs(wildcards):
    """The reduced allStar and, from a local SAS tree (the mock's or apogee.sas_root), the shard's
    aspcapStar files that exist, so that an edited, added or removed spectrum reruns its shard and
    what follows, and nothing else does (a folder's own time stamp tells neither). The files are
    known from the allStar rows, so reduce_allstar is a checkpoint. Downloads have no local input."""
    if not local_sas():
        return {"allstar": ALLSTAR}
    allstar = checkpoints.reduce_allstar.get().output[0]
    rows = _allstar_rows(allstar, os.stat(allstar).st_mtime_ns)
    part = shards.part(len(rows), N_SHARDS, int(wildcards.shard))
    files = [f"{sas_root()}/{rel}" for _, rel in download.aspcapstar_relpaths(SAS_LAYOUT, [rows[i] for i in part])
             if not isinstance(rel, download.Refused)]
    return {"allstar": allstar, "spectra": [f for f in files if os.path.isfile(f)]}


# Cross-validation grid: one training job per (held-out fold, lambda, offset). The model
# "heldout_B" is trained on the training stars of every other fold (for two folds: on A) and
# predicts fold B's parent stars. switches.hyperparameters: paper fixes the one setting of HER19's
# code (model.paper_lambda, model.paper_offset; infer_parallax.py @ 7e102f0): 2 train jobs for 2
# folds, and crossval scores it without choosing (no reference offset).
FOLDS = [chr(ord("A") + k) for k in range(config["model"]["n_folds"])]
# switches.zero_point: in the improved mode Gaia DR3 parallaxes are L21-corrected per star, so the
# offsets are residuals (model.dr3.*); the paper mode keeps one constant offset on DR3 too
# (model.dr3.constant.*). Either replaces offset_grid, reference_offset and paper_offset (config.yaml
# cites the values). On DR2 there is no per-star zero point, so the switch reaches no rule.
L21 = SWITCH["zero_point"] == "improved" and GAIA_RELEASE == "dr3"
if GAIA_RELEASE == "dr3":
    OFFSETS = config["model"]["dr3"] if L21 else config["model"]["dr3"]["constant"]
    OFFSET_KEY = "model.dr3." if L21 else "model.dr3.constant."
else:
    OFFSETS, OFFSET_KEY = config["model"], "model."
# The Training Set's astrometric quality cut (switches.quality_cut): on Gaia DR3 in the improved
# mode, ruwe <= sample.training.ruwe_max replaces eq. 9-10. ruwe_max reaches the rules only then, so
# on DR2 (the paper's and the mock's) it reruns nothing.
RUWE_CUT = SWITCH["quality_cut"] == "improved" and GAIA_RELEASE == "dr3"
TRAINING_CUTS = {key: value for key, value in config["sample"]["training"].items() if key != "ruwe_max" or RUWE_CUT}
if SWITCH["hyperparameters"] == "paper":
    SETTINGS = [(config["model"]["paper_lambda"], OFFSETS["paper_offset"])]
    REFERENCE_OFFSET = REFERENCE_OFFSET_TOLERANCE = None
else:
    SETTINGS = [(lam, off) for lam in config["model"]["lambda_grid"] for off in OFFSETS["offset_grid"]]
    # Cross-validation can only keep a reference offset it trains models for.
    REFERENCE_OFFSET = OFFSETS["reference_offset"]
    # Read only when there is a reference to keep, so without one it reruns nothing.
    REFERENCE_OFFSET_TOLERANCE = None if REFERENCE_OFFSET is None else config["model"]["reference_offset_tolerance"]
    if REFERENCE_OFFSET is not None and not np.isclose(OFFSETS["offset_grid"], REFERENCE_OFFSET).any():
        raise ValueError(
            f"config.yaml: {OFFSET_KEY}reference_offset ({REFERENCE_OFFSET}) is not in {OFFSET_KEY}offset_grid "
            f"{OFFSETS['offset_grid']}, so cross-validation could never keep it: add it to the grid, "
            "or set reference_offset: null to take the lowest held-out score (switches.cv_score)."
        )
MODEL = f"{RESULTS}/models/heldout_{{fold}}/lambda_{{lam}}_offset_{{offset}}.fits"
MODELS = [MODEL.format(fold=fold, lam=lam, offset=off) for lam, off in SETTINGS for fold in FOLDS]
# model.cv_path: the lambdas of one (held-out fold, offset) run as a chain, largest first, each train
# job starting from the model of the next larger lambda (same optimum, a warm start). The paper's
# optimizer takes no start (it stops where its start leads it), and the paper mode has one setting.
CV_PATH = config["model"]["cv_path"] and SWITCH["optimizer"] == "exact"
# model.cv_path_offsets (with cv_path): every lambda of every offset but the first (offset_grid order)
# starts from the previous offset's model at the same lambda and held-out fold, as
# spectroparallax.model.exp_linear.fit_grid does in one process: one cold fit per fold.
CV_PATH_OFFSETS = CV_PATH and config["model"]["cv_path_offsets"]
GRID_OFFSETS = list(dict.fromkeys(off for _, off in SETTINGS))   # offset_grid order


def warm_start(wildcards):
    """{"lam", "offset"} (as config.yaml spells them) of the model the train job of ``wildcards``
    starts from, or None: cold. model.cv_path_offsets: at every offset but the first, the same lambda
    at the previous offset; otherwise (model.cv_path) the grid's next larger lambda at the same offset."""
    lam, offset = float(wildcards.lam), float(wildcards.offset)
    if not CV_PATH or not any(np.isclose(l, lam) and np.isclose(o, offset) for l, o in SETTINGS):
        return None
    k = next(k for k, o in enumerate(GRID_OFFSETS) if np.isclose(o, offset))
    if CV_PATH_OFFSETS and k > 0:
        previous = GRID_OFFSETS[k - 1]
        same = [l for l, off in SETTINGS if off == previous and np.isclose(l, lam)]
        if same:
            return {"lam": same[0], "offset": previous}
    chain = sorted({l for l, off in SETTINGS if np.isclose(off, offset)})
    larger = [l for l in chain if l > lam and not np.isclose(l, lam)]
    if larger:
        return {"lam": larger[0], "offset": GRID_OFFSETS[k]}
    return None


def train_inputs(wildcards):
    """The train job's inputs; with model.cv_path also ``start``, the model of the same held-out fold
    that :func:`warm_start` names, whose theta the fit starts from."""
    inputs = {"X": f"{RESULTS}/features/X.npy", "index": f"{RESULTS}/features/features.ecsv",
              "parent": f"{RESULTS}/samples/parent.fits"}
    start = warm_start(wildcards)
    if start is not None:
        inputs["start"] = MODEL.format(fold=wildcards.fold, lam=start["lam"], offset=start["offset"])
    return inputs


# ----------------------------------------------------------------------------------------------
# Politeness to the archives: a download job holds one unit of the resource archive_connections
# per connection it opens (none when the files are local), and all running jobs together hold at
# most archive.max_connections, however many cluster slots are free. A limit given on the command
# line or in a profile (--resources archive_connections=N) takes precedence.
MAX_CONNECTIONS = config["archive"]["max_connections"]
if "archive_connections" not in workflow.global_resources:
    workflow.register_resource("archive_connections", MAX_CONNECTIONS)
if not local_sas() and config["apogee"]["download_threads"] > MAX_CONNECTIONS:
    raise ValueError(
        f"config.yaml: apogee.download_threads ({config['apogee']['download_threads']}) is above "
        f"archive.max_connections ({MAX_CONNECTIONS}): one download job would open more connections "
        "than the cap allows. Lower download_threads or raise max_connections."
    )
# Connections one aspcapStar shard job opens (its threads).
SHARD_CONNECTIONS = 0 if local_sas() else config["apogee"]["download_threads"]


# ----------------------------------------------------------------------------------------------
# Job sizes for threads/resources (spectroparallax.io.jobsize): memory [MB] and runtime [minutes]
# from the data a job reads, once its inputs exist; from config.yaml's survey before that (dry
# runs). Snakemake re-evaluates them when a job's inputs are ready; they double per attempt.
EXPECTED = jobsize.expected_sizes(config)
ALLSTAR = f"{DATA}/allstar.fits"
PARENT = f"{RESULTS}/samples/parent.fits"
CATALOG = f"{RESULTS}/catalog/spectrophotometric_parallaxes.fits"


def _have(*paths):
    return all(os.path.exists(p) for p in paths)


def allstar_rows():
    """allStar rows in the logg range: the aspcapStar files to fetch and normalize."""
    return jobsize.fits_rows(ALLSTAR) if _have(ALLSTAR) else EXPECTED.rows


def shard_files():
    return math.ceil(allstar_rows() / N_SHARDS)


def fold_sizes():
    """(Parent Sample stars, training stars) per fold."""
    if _have(PARENT):
        return jobsize.fold_counts(PARENT)
    return ({f: math.ceil(EXPECTED.parent / len(FOLDS)) for f in FOLDS},
            {f: math.ceil(EXPECTED.training / len(FOLDS)) for f in FOLDS})


def n_features():
    X = f"{RESULTS}/features/X.npy"
    return jobsize.npy_shape(X)[1] if _have(X) else EXPECTED.features


def allstar_file_mb():
    path = f"{sas_root()}/{ALLSTAR_REL}"
    return jobsize.file_mb(path) if _have(path) else EXPECTED.allstar_mb


def gaia_chunk_rows():
    """Rows a gaia_chunk job reads: the mock's whole cross-match file (~0.96 per allStar row), else
    its chunk of the allStar rows in the logg range."""
    return config["mock"]["n_stars"] if SURVEY == "mock" else math.ceil(allstar_rows() / N_CHUNKS)


def allstar_file_rows():
    """Rows of the archive's allStar file (all of them, before the logg cut)."""
    path = f"{sas_root()}/{ALLSTAR_REL}"
    return jobsize.fits_rows(path) if _have(path) else EXPECTED.allstar_rows


def train_size(wildcards):
    """Training stars of the model that holds out wildcards.fold, and the features."""
    _, training = fold_sizes()
    return sum(n for fold, n in training.items() if fold != wildcards.fold), n_features()


def design_size():
    """Parent Sample stars and design-matrix columns (the pixels kept plus the photometry)."""
    pixels = f"{RESULTS}/spectra/pixels.ecsv"
    n_cols = jobsize.N_NON_SPECTRAL + jobsize.ecsv_rows(pixels) if _have(pixels) else EXPECTED.features
    return sum(fold_sizes()[0].values()), n_cols


def predict_mem(wildcards, attempt):
    """crossval and catalog: out-of-fold predictions, one fold at a time."""
    return jobsize.predict_mem_mb(max(fold_sizes()[0].values()), n_features(), attempt)


def predict_runtime(n_settings):
    """Runtime of predicting every Parent Sample star for n_settings (lambda, offset) settings."""
    return lambda wildcards, attempt: jobsize.predict_runtime_min(
        sum(fold_sizes()[0].values()), n_features(), n_settings, attempt)


# ----------------------------------------------------------------------------------------------
# Figures (figures.smk) and the comparison with the published catalog (catalog.smk).


def figure_output(name, title):
    """The PDF and PNG of a figure, both in the report under Figures (PNG shows inline, the PDF
    opens in the browser's viewer)."""
    caption = f"../report/{name}.rst"
    return {
        ext: report(f"{RESULTS}/figures/{name}.{ext}", caption=caption, category="Figures",
                    labels={"figure": title, "format": ext.upper()})
        for ext in ("pdf", "png")
    }


PUBLISHED_CATALOG = "resources/published/data_HoggEilersRix2018.fits"
PUBLISHED_JOINED = f"{RESULTS}/published/joined.fits"
# The `figures` rule (figures.smk) asks for these too; empty on the mock, so `figures` and `all`
# never ask for the comparison there.
PUBLISHED_FIGURES = (
    [] if SURVEY == "mock" else expand(f"{RESULTS}/figures/published_comparison.{{ext}}", ext=["pdf", "png"])
)


def published_join_inputs(wildcards):
    """Our catalog and the published one; on the mock, a clear error instead of a meaningless join."""
    if SURVEY == "mock":
        raise WorkflowError(
            "the comparison with the published catalog (rules join_published, published_comparison) needs "
            "survey=dr14: the published catalog holds the paper's APOGEE DR14 stars, not the mock's. "
            "Run it with --config survey=dr14, or leave it out on the mock."
        )
    return {"ours": rules.catalog.output.fits, "published": PUBLISHED_CATALOG}
