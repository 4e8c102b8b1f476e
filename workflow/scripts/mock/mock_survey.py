"""Rule mock_survey: simulate the offline mock survey and write it in the archives' formats."""

import logging
from pathlib import Path

from spectroparallax.mock import write_mock_survey
from spectroparallax.mock.survey import survey_paths
from spectroparallax.io.logs import job_logging

job_logging(snakemake, fmt="%(asctime)s %(message)s")
apogee = snakemake.params.apogee
knobs = dict(snakemake.params.mock)
n_stars, seed = knobs.pop("n_stars"), knobs.pop("seed")

out_dir = Path(snakemake.output.truth).parent
expected = survey_paths(out_dir, apogee, snakemake.params.gaia_release)
for key in ("sas", "gaia", "truth"):
    if Path(snakemake.output[key]) != expected[key]:
        raise ValueError(f"rule mock_survey: output {key}={snakemake.output[key]} is not where the mock "
                         f"writes it ({expected[key]}); keep the rule's outputs in one folder")
write_mock_survey(out_dir, apogee, n_stars, seed, gaia_release=snakemake.params.gaia_release, **knobs)
