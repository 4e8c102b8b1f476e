# Shared names and input functions for every rule file.
from pathlib import Path

# Rule scripts `import spectroparallax` through workflow/scripts/spectroparallax, a link to
# src/spectroparallax (Snakemake puts a script's folder on sys.path), so the checkout's package is
# what runs, in a pip venv, in a per-rule conda environment and on cluster nodes alike.

SURVEY = config["survey"]
# Everything a survey needs before the science starts lives under resources/<survey>/.
DATA = f"resources/{SURVEY}"
# The mock survey writes a local SAS tree; a user's mirror is apogee.sas_root; otherwise we download.
MOCK_SAS = "resources/mock/sas"


def all_targets():
    """Final products of the workflow, for the rule `all` (grows with the pipeline)."""
    targets = []
    if SURVEY == "mock":
        targets += rules.mock_survey.output
    return targets
