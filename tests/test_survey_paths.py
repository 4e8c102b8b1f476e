"""Surveys never share a file: after a mock run, a DR14 run plans everything from scratch.

Every output of a survey lives under results/<survey>/, its logs under logs/<survey>/ and its
Snakemake benchmark files under benchmarks/out/<survey>/ (workflow/rules/common.smk). Were they
shared, a DR14 run whose archive is unreachable could answer "Nothing to be done" and hand the
mock's catalog over as DR14's, and a DR14 dry run would size its jobs from the mock's design matrix.
"""

import hashlib
import re

import yaml

from conftest import copy_run, run_snakemake

CATALOG = "results/mock/catalog/spectrophotometric_parallaxes.fits"


def _plan(out) -> tuple[list[str], list[str]]:
    """The planned jobs of a dry run, one line per job (rule, output, resources), sorted, and the
    reason given for each job that writes a file."""
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    jobs, reasons = [], []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out.stdout):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if not m:
            continue
        fields = dict(re.findall(r"^\s{4}(output|resources|reason): (.*)$", block, flags=re.M))
        jobs.append(f"{m.group(1)} | {fields.get('output', '')} | {fields.get('resources', '')}")
        if fields.get("output"):
            reasons.append(fields.get("reason", ""))
    return sorted(jobs), reasons


def test_dr14_after_a_mock_run_plans_every_job_from_scratch(mock_run, tmp_path_factory):
    src, cfg = mock_run
    work = tmp_path_factory.mktemp("mock_then_dr14")
    copy_run(src, work)
    dr14 = {**cfg, "survey": "dr14"}
    (work / "config.yaml").write_text(yaml.safe_dump(dr14))
    catalog_before = hashlib.sha256((work / CATALOG).read_bytes()).hexdigest()

    after_mock, reasons = _plan(run_snakemake(work, "-n"))

    fresh = tmp_path_factory.mktemp("dr14_fresh")
    (fresh / "config.yaml").write_text(yaml.safe_dump(dr14))
    from_scratch, _ = _plan(run_snakemake(fresh, "-n"))

    # The same jobs with the same outputs and the same resource requests as in an empty folder:
    # nothing of the mock's is reused, and no job is sized from the mock's files.
    assert after_mock == from_scratch
    assert len(after_mock) > 40 and all("results/mock" not in job for job in after_mock)
    assert not any("dr14" not in job.split(" | ")[1] for job in after_mock
                   if not job.startswith(("all ", "figures ", "download_published ")))
    # Every file-writing job is planned because its output is missing, not because of a change.
    assert reasons and all(r.startswith("Missing output files") for r in reasons), reasons
    # The mock's catalog is untouched.
    assert hashlib.sha256((work / CATALOG).read_bytes()).hexdigest() == catalog_before
