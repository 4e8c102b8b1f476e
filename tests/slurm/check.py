"""Checks of the SLURM test (tests/slurm/run.sh): dry runs, the controller's jobs, the catalogs.

    python tests/slurm/check.py paper-dry-run LOG
        every job of a dry run with workflow/profiles/slurm shows its threads, memory (mem_mb),
        runtime and partition, and the jobs add up to Snakemake's job count
    python tests/slurm/check.py cluster-run --dry-run LOG --run LOG --squeue FILE
                                            --controller-log FILE --local CAT --slurm CAT
        one COMPLETED controller job per non-local rule instance of the dry run, with the CPUs,
        memory and time limit Snakemake asked for, each submitted and ended with exit status 0 in
        the controller's log; the catalog equals the local run's

Each prints what it checked and exits non-zero, with the reasons, when a check fails.
"""

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Rules Snakemake never submits because they have nothing to run (the Snakefile's target).
TARGET_RULES = {"all"}
#: The columns of the two catalogs must agree to this relative tolerance: the fit is
#: deterministic, so the only room left is BLAS summation order.
RTOL = 1e-6
_JOB = re.compile(r"^(local)?(?:rule|checkpoint) (\w+):$")   # reduce_allstar is a checkpoint
_FIELD = re.compile(r"^\s+(\w+): (.*)$")


def parse_jobs(text: str) -> list[dict]:
    """The job blocks Snakemake prints (dry run or run): rule, local, jobid, wildcards (ordered
    values by name), threads, resources (name -> printed value)."""
    jobs, job = [], None
    for line in text.splitlines():
        m = _JOB.match(line)
        if m:
            job = {"rule": m.group(2), "local": bool(m.group(1)), "wildcards": {}, "threads": 1, "resources": {}}
            jobs.append(job)
            continue
        f = _FIELD.match(line) if job is not None else None
        if not f:
            job = None
            continue
        key, value = f.groups()
        if key == "jobid":
            job["jobid"] = int(value)
        elif key == "threads":
            job["threads"] = int(value)
        elif key == "wildcards":
            job["wildcards"] = dict(item.split("=", 1) for item in value.split(", "))
        elif key == "resources":
            job["resources"] = dict(item.split("=", 1) for item in value.split(", "))
    return jobs


def job_count(text: str) -> int:
    """The total of Snakemake's 'Job stats' table."""
    m = re.search(r"^total\s+(\d+)$", text, flags=re.M)
    if not m:
        raise SystemExit("no 'Job stats' total in the Snakemake output")
    return int(m.group(1))


def comment(job: dict) -> str:
    """The --comment snakemake-executor-plugin-slurm gives a job's sbatch."""
    values = "_".join(job["wildcards"].values()).replace("/", "_")
    return f"rule_{job['rule']}" + (f"_wildcards_{values}" if values else "")


def declared_localrules(repo: Path = REPO) -> set[str]:
    """Rules named in the workflow's `localrules:` statements."""
    names = set()
    for path in [repo / "Snakefile", *sorted((repo / "workflow" / "rules").glob("*.smk"))]:
        for block in re.findall(r"^localrules:(.*?)(?=^\S|\Z)", path.read_text(), flags=re.M | re.S):
            names.update(re.findall(r"\w+", block))
    return names


def minutes(limit: str) -> int:
    """SLURM's [days-]hours:minutes:seconds (or minutes:seconds) time limit in whole minutes."""
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts
    return (int(days or 0) * 24 + h) * 60 + m + (s > 0)


def check_paper_dry_run(text: str) -> list[str]:
    """Problems with a dry run of the paper's configuration with the SLURM profile."""
    jobs, problems = parse_jobs(text), []
    if len(jobs) != job_count(text):
        problems.append(f"{len(jobs)} job blocks printed but Snakemake counts {job_count(text)} jobs")
    for job in jobs:
        if job["rule"] in TARGET_RULES:
            continue
        res, name = job["resources"], comment(job)
        for key in ("mem_mb", "runtime"):
            if not res.get(key, "").isdigit() or int(res[key]) <= 0:
                problems.append(f"{name}: {key} is {res.get(key)!r}, not a positive number")
        if "slurm_partition" not in res:
            problems.append(f"{name}: no slurm_partition (the profile's default-resources did not apply)")
    by_rule = {}
    for job in jobs:
        if job["rule"] not in TARGET_RULES:
            by_rule.setdefault(job["rule"], []).append(job)
    print(f"{'rule':18s} {'jobs':>4s} {'threads':>7s} {'mem_mb':>13s} {'runtime [min]':>13s}")
    for rule, group in by_rule.items():
        mem = sorted(int(j["resources"].get("mem_mb", "0") or 0) for j in group)
        run = sorted(int(j["resources"].get("runtime", "0") or 0) for j in group)
        print(f"{rule:18s} {len(group):4d} {group[0]['threads']:7d} {_span(mem):>13s} {_span(run):>13s}")
    return problems


def _span(values):
    return str(values[0]) if values[0] == values[-1] else f"{values[0]}-{values[-1]}"


def read_squeue(path) -> list[dict]:
    """Rows of `squeue --states=all -h -o '%i|%j|%k|%T|%C|%m|%l'`."""
    rows = []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            jobid, name, note, state, cpus, mem, limit = line.split("|")
            rows.append(dict(jobid=int(jobid), name=name, comment=note, state=state, cpus=int(cpus), mem=mem,
                             limit=minutes(limit)))
    return rows


def check_cluster_run(dry_text, run_text, squeue_path, controller_log, local_catalog, slurm_catalog) -> list[str]:
    """Problems with the SLURM run of the mock survey (see the module docstring)."""
    problems = []
    local_rules = declared_localrules() | TARGET_RULES
    run_jobs = parse_jobs(run_text)
    ran_locally = {j["rule"] for j in run_jobs if j["local"]}
    if ran_locally - local_rules:
        problems.append(f"rules run on the submit host but not declared local: {sorted(ran_locally - local_rules)}")
    expected = Counter(comment(j) for j in parse_jobs(dry_text) if j["rule"] not in local_rules)

    run_id = re.search(r"SLURM run ID: (\S+)", run_text)
    rows = [r for r in read_squeue(squeue_path) if run_id and r["name"] == run_id.group(1)]
    if not run_id or not rows:
        return problems + ["the controller lists no job of this run (SLURM run ID not found in squeue)"]
    seen = Counter(r["comment"] for r in rows)
    for name in sorted(set(expected) | set(seen)):
        if seen[name] != expected[name]:
            problems.append(f"{name}: {seen[name]} controller job(s), expected {expected[name]}")
    problems += [f"SLURM job {r['jobid']} ({r['comment']}) ended {r['state']}"
                 for r in rows if r["state"] != "COMPLETED"]

    log = Path(controller_log).read_text()
    submitted = {int(i) for i in re.findall(r"_slurm_rpc_submit_batch_job: JobId=(\d+)", log)}
    ok = {int(i) for i in re.findall(r"_job_complete: JobId=(\d+) WEXITSTATUS 0", log)}
    for r in rows:
        if r["jobid"] not in submitted or r["jobid"] not in ok:
            problems.append(f"SLURM job {r['jobid']} ({r['comment']}) is not submitted and ended with status 0 "
                            "in the controller's log")

    by_id = {r["jobid"]: r for r in rows}
    sbatch = {int(a): int(b) for a, b in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", run_text)}
    for job in run_jobs:
        if job["local"] or "jobid" not in job or job["jobid"] not in sbatch:
            continue
        row, res = by_id.get(sbatch[job["jobid"]]), job["resources"]
        if row is None:
            continue  # already reported: a job of another run, or missing
        asked = (job["threads"], f"{res.get('mem_mb')}M", int(res.get("runtime", -1)))
        granted = (row["cpus"], row["mem"], row["limit"])
        if asked != granted:
            problems.append(f"{comment(job)}: Snakemake asked for (cpus, memory, minutes) {asked}, "
                            f"the controller has {granted}")

    cap = re.search(r"Provided resources: .*archive_connections\D*(\d+)", run_text)
    if not cap:
        problems.append("the run did not register the archive_connections limit")
    problems += compare_catalogs(local_catalog, slurm_catalog)
    print(f"controller: {len(rows)} jobs of run {run_id.group(1)}, {len(expected)} expected; "
          f"local: {sorted(ran_locally)}; archive_connections cap: {cap.group(1) if cap else None}")
    return problems


def compare_catalogs(local_path, slurm_path) -> list[str]:
    """Problems found comparing the catalog of the SLURM run with the local run's."""
    import numpy as np
    from astropy.table import Table

    a, b = Table.read(local_path), Table.read(slurm_path)
    if a.colnames != b.colnames or len(a) != len(b):
        return [f"catalogs differ in shape: {len(a)} rows {a.colnames} vs {len(b)} rows {b.colnames}"]
    problems = [f"header {k}: {a.meta.get(k)} vs {b.meta.get(k)}" for k in ("LAMBDA", "PLXOFFST", "CFGHASH")
                if a.meta.get(k) != b.meta.get(k)]
    worst = 0.0
    for name in a.colnames:
        x, y = np.ma.filled(a[name], np.nan), np.ma.filled(b[name], np.nan)
        if x.dtype.kind == "f":
            finite = np.isfinite(x) & np.isfinite(y)
            if not np.array_equal(np.isfinite(x), np.isfinite(y)):
                problems.append(f"column {name}: the runs disagree on which rows have values")
            elif finite.any():
                rel = np.max(np.abs(x[finite] - y[finite]) / np.maximum(np.abs(x[finite]), 1e-300))
                worst = max(worst, rel)
                if rel > RTOL:
                    problems.append(f"column {name}: largest relative difference {rel:.3g} > {RTOL}")
        elif not np.array_equal(x, y):
            problems.append(f"column {name}: values differ")
    print(f"catalogs: {len(a)} stars, largest relative difference of any float column {worst:.3g}")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("paper-dry-run")
    p.add_argument("log")
    c = sub.add_parser("cluster-run")
    for name in ("--dry-run", "--run", "--squeue", "--controller-log", "--local", "--slurm"):
        c.add_argument(name, required=True)
    a = ap.parse_args(argv)
    if a.what == "paper-dry-run":
        problems = check_paper_dry_run(Path(a.log).read_text())
    else:
        problems = check_cluster_run(Path(a.dry_run).read_text(), Path(a.run).read_text(), a.squeue,
                                     a.controller_log, a.local, a.slurm)
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    print(f"{a.what}: {'FAILED' if problems else 'ok'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
