"""The workflow at two sizes in one run: per-rule cost, its growth with N, and the science (issue 19).

Runs this checkout's workflow (catalog and figures, improved mode by default: the whole
cross-validation grid) on two mock surveys, e.g. 20,000 and 100,000 allStar rows (the paper's
size: ~45k parent stars), each in its own folder below --workdir, then reads every Snakemake
``benchmark:`` file the runs wrote (benchmarks/out/mock/) and prints per rule, at both sizes:
jobs, summed wall time, summed CPU time and the largest peak memory (max_rss) of one job; the
growth exponent of each rule's summed wall and CPU time, log(t2 / t1) / log(N2 / N1) between the
sizes (1 = linear in the number of allStar rows); the whole workflow's wall time with and without
the simulator (mock_survey), and what dominates it; and the science numbers of
benchmarks/mock_accuracy.measure at both sizes (scatter and bias against the truth, the zero
fraction, the chosen lambda).

    python benchmarks/paper_scale.py --workdir /scratch/paper_scale [--sizes 20000 100000] [--cores 2]

An existing run in a size's folder is reused (Snakemake reruns only what changed), so delete it
to time a size afresh: the timings are those of the jobs that ran, read from their benchmark
files, and the whole workflow's wall time is read from Snakemake's own logs of the folder
(.snakemake/log/: first to last job time stamp of each invocation, summed), so a size built
earlier, or by an interrupted run that was resumed, is still timed as the jobs ran. Plan on ~45 minutes on 2 cores at the default sizes and ~10 GB of disk. The mock writes
spectra only for 0 < LOGG <= 2.2 (mock.spectra_logg_range, as config/mock-paper-size.yaml
advises at this size). Last line: one JSON object.
"""

import argparse
import json
import math
import re
import sys
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mock_accuracy  # noqa: E402

TARGETS = ("catalog", "figures")
#: The mock writes spectra only where the sample cut can keep them (the paper's logg range).
MOCK = {"spectra_logg_range": [0.0, 2.2]}
_SHARD_SUFFIX = re.compile(r"_\d+$")
#: The time stamp Snakemake writes before every job it starts or finishes, e.g. [Sun Dec  6 18:49:02 2026].
_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$", re.MULTILINE)


def rule_of(tsv: Path, root: Path) -> str:
    """The rule a benchmark file belongs to: its folder below ``root`` (train/, ...) or its name
    without a shard or chunk number (normalize_shard_3 -> normalize_shard)."""
    rel = tsv.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else _SHARD_SUFFIX.sub("", tsv.stem)


def read_benchmarks(root: Path) -> dict:
    """Per rule: jobs, summed wall and CPU seconds, largest max_rss [MB] over the benchmark files."""
    rules = {}
    for tsv in sorted(root.rglob("*.tsv")):
        lines = tsv.read_text().splitlines()
        if len(lines) < 2:
            continue
        head, row = lines[0].split("\t"), lines[-1].split("\t")
        values = dict(zip(head, row))

        def number(key):
            try:
                return float(values.get(key, "nan"))
            except ValueError:   # Snakemake writes "NA" where it could not measure
                return float("nan")

        r = rules.setdefault(rule_of(tsv, root), {"jobs": 0, "wall_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0})
        r["jobs"] += 1
        r["wall_s"] += number("s")
        r["cpu_s"] += np.nan_to_num(number("cpu_time"))
        r["max_rss_mb"] = max(r["max_rss_mb"], np.nan_to_num(number("max_rss")))
    return rules


def exponent(a: float, b: float, n_a: int, n_b: int) -> float:
    """Growth exponent of a cost from a at n_a to b at n_b (NaN when either is ~0)."""
    if a <= 0.05 or b <= 0.05:
        return float("nan")
    return math.log(b / a) / math.log(n_b / n_a)


def logged_wall(workdir: Path) -> float:
    """Wall seconds the workflow ran in ``workdir``: per Snakemake log (.snakemake/log/), the span
    from its first to its last job time stamp, summed over the logs (invocations) from the last one
    that ran the simulator (mock_survey) on: a simulator run remakes everything after it, so earlier
    invocations (e.g. an older checkout's run in the same folder) timed jobs that no longer count."""
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    texts = [log.read_text() for log in logs]
    ran_mock = [k for k, text in enumerate(texts) if re.search(r"^(local)?rule mock_survey:", text, re.MULTILINE)]
    total = 0.0
    for text in texts[ran_mock[-1] if ran_mock else 0:]:
        stamps = [datetime.strptime(" ".join(m.split()), "%a %b %d %H:%M:%S %Y") for m in _STAMP.findall(text)]
        if stamps:
            total += (max(stamps) - min(stamps)).total_seconds()
    return total


def run_size(workdir: Path, n_stars: int, cores: int, mode: str, seed: int | None, build: bool = True) -> dict:
    """Build (unless ``build`` is False) and read one size; science is None while there is no catalog."""
    if build:
        mock_accuracy.build(workdir, n_stars, None, None, cores, seed, mode=mode, mock=MOCK, targets=TARGETS)
    wall = logged_wall(workdir)
    rules = read_benchmarks(workdir / "benchmarks" / "out" / "mock")
    done = (workdir / "results/mock/catalog/spectrophotometric_parallaxes.fits").exists()
    science = mock_accuracy.measure(workdir) if done else None
    return {"n_stars": n_stars, "wall_s": wall, "rules": rules, "science": science}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True, help="scratch folder (one subfolder per size; reused)")
    ap.add_argument("--sizes", type=int, nargs=2, default=[20000, 100000], help="allStar rows of the two mocks")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--mode", choices=["improved", "paper"], default="improved")
    ap.add_argument("--seed", type=int, default=None, help="the mocks' seed (default: config.yaml's mock.seed)")
    ap.add_argument("--no-run", action="store_true",
                    help="only read the folders as they are (e.g. a run still going): the jobs finished so far, "
                         "science null where there is no catalog yet")
    args = ap.parse_args()

    runs = [run_size(args.workdir / f"n{n}", n, args.cores, args.mode, args.seed, build=not args.no_run)
            for n in args.sizes]
    small, large = runs
    n_a, n_b = small["n_stars"], large["n_stars"]
    names = sorted(set(small["rules"]) | set(large["rules"]),
                   key=lambda name: -large["rules"].get(name, {}).get("wall_s", 0.0))
    empty = {"jobs": 0, "wall_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0}
    per_rule = {}
    print(f"{'rule':20s} {'jobs':>9s} {'wall s':>17s} {'cpu s':>17s} {'max_rss MB':>17s} {'exp wall':>8s} {'exp cpu':>8s}")
    for name in names:
        a, b = small["rules"].get(name, empty), large["rules"].get(name, empty)
        row = {"jobs": [a["jobs"], b["jobs"]], "wall_s": [round(a["wall_s"], 1), round(b["wall_s"], 1)],
               "cpu_s": [round(a["cpu_s"], 1), round(b["cpu_s"], 1)],
               "max_rss_mb": [round(a["max_rss_mb"]), round(b["max_rss_mb"])],
               "exponent_wall": round(exponent(a["wall_s"], b["wall_s"], n_a, n_b), 2),
               "exponent_cpu": round(exponent(a["cpu_s"], b["cpu_s"], n_a, n_b), 2)}
        per_rule[name] = row
        print(f"{name:20s} {a['jobs']:4d} {b['jobs']:4d} {a['wall_s']:8.1f} {b['wall_s']:8.1f} "
              f"{a['cpu_s']:8.1f} {b['cpu_s']:8.1f} {a['max_rss_mb']:8.0f} {b['max_rss_mb']:8.0f} "
              f"{row['exponent_wall']:8.2f} {row['exponent_cpu']:8.2f}")
    out = {"sizes": [n_a, n_b], "mode": args.mode, "cores": args.cores}
    for label, run in (("small", small), ("large", large)):
        simulator = run["rules"].get("mock_survey", empty)["wall_s"]
        job_wall = {name: r["wall_s"] for name, r in run["rules"].items() if name != "mock_survey"}
        top = max(job_wall, key=job_wall.get) if job_wall else ""
        share = job_wall[top] / sum(job_wall.values()) if job_wall else float("nan")
        out[f"wall_s_{label}"] = round(run["wall_s"], 1)
        out[f"wall_s_without_simulator_{label}"] = round(run["wall_s"] - simulator, 1)
        out[f"simulator_s_{label}"] = round(simulator, 1)
        out[f"dominant_rule_{label}"] = top
        out[f"dominant_share_{label}"] = round(share, 3)
        out[f"max_job_rss_mb_{label}"] = round(max((r["max_rss_mb"] for r in run["rules"].values()), default=0))
        for key in ("n_parent", "n_training", "lambda", "offset", "scatter_truth", "bias_truth", "zero_fraction"):
            value = run["science"][key] if run["science"] else None
            out[f"{key}_{label}"] = round(value, 4) if isinstance(value, float) else value
        print(f"{label} ({run['n_stars']} rows): wall {run['wall_s']:.0f} s, simulator {simulator:.0f} s, "
              f"dominated by {top} ({share:.0%} of the summed job time); science {run['science']}")
    out["rules"] = per_rule
    print(json.dumps(out))


if __name__ == "__main__":
    main()
