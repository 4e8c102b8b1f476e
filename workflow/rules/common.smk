# Shared names and input functions for every rule file.
import sys
from pathlib import Path

# The Snakefile itself uses the package too (SAS paths), from this checkout.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from spectroparallax import sas

# Rule scripts `import spectroparallax` through workflow/scripts/spectroparallax, a link to
# src/spectroparallax (Snakemake puts a script's folder on sys.path), so the checkout's package is
# what runs, in a pip venv, in a per-rule conda environment and on cluster nodes alike.

SURVEY = config["survey"]
# Everything a survey needs before the science starts lives under resources/<survey>/.
DATA = f"resources/{SURVEY}"
# The mock survey writes a local SAS tree; a user's mirror is apogee.sas_root; otherwise we download.
MOCK_SAS = "resources/mock/sas"


N_SHARDS = config["apogee"]["download_shards"]
N_CHUNKS = config["gaia"]["query_chunks"]
ALLSTAR_REL = str(sas.allstar_relpath(config["apogee"]))
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
    if SURVEY == "mock":
        return MOCK_SAS  # the mock_survey rule writes the whole tree
    return f"{sas_root()}/{ALLSTAR_REL}"


# Cross-validation grid: one training job per (held-out fold, lambda, offset). The model
# "heldout_B" is trained on the training stars of every other fold (for two folds: on A) and
# predicts fold B's parent stars.
FOLDS = [chr(ord("A") + k) for k in range(config["model"]["n_folds"])]
SETTINGS = [(lam, off) for lam in config["model"]["lambda_grid"] for off in config["model"]["offset_grid"]]
MODEL = "results/models/heldout_{fold}/lambda_{lam}_offset_{offset}.fits"
MODELS = [MODEL.format(fold=fold, lam=lam, offset=off) for lam, off in SETTINGS for fold in FOLDS]
