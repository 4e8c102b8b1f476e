"""Rule mock_survey: simulate the offline mock survey and write it in the archives' formats."""

from pathlib import Path

from spectroparallax.mock import write_mock_survey
from spectroparallax.mock.survey import survey_paths
from spectroparallax.io.logs import job_logging

job_logging(snakemake, fmt="%(asctime)s %(message)s")
# mock.release's format and version strings (apogee.versions.<release>), and whether to write allStarLite.
release, versions, lite = snakemake.params.release, dict(snakemake.params.versions), snakemake.params.lite
knobs = dict(snakemake.params.mock)
n_stars, seed = knobs.pop("n_stars"), knobs.pop("seed")

out_dir = Path(snakemake.output.truth).parent
expected = survey_paths(out_dir, release, versions, lite=lite, gaia_release=snakemake.params.gaia_release)
for key in ("sas", "gaia", "truth"):
    if Path(snakemake.output[key]) != expected[key]:
        raise ValueError(f"rule mock_survey: output {key}={snakemake.output[key]} is not where the mock "
                         f"writes it ({expected[key]}); keep the rule's outputs in one folder")
write_mock_survey(out_dir, release, versions, n_stars, seed, lite=lite, gaia_release=snakemake.params.gaia_release,
                  **knobs)
