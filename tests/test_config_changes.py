"""A config change reruns exactly the jobs that depend on it (issue 15: stale results).

CHANGES has one row per leaf key of workflow/schemas/config.schema.yaml and config.yaml (a key
missing from it fails the test by name): a new value and the rules that read the key. Against a
completed mock run (a hard-link copy of conftest.figures_run with the summary built), `snakemake
-n all` with the key changed must plan exactly what `snakemake -n --forcerun <those rules> all`
plans with the config as it was: those rules and everything downstream of them, nothing else.
A rule reading a key it was not given (no rerun: stale results) fails, and so does a key that
reruns what it does not feed (a catalog hash over the whole config would rerun the catalog for a
figure's colour map).

Keys the mock never reads (archive addresses, the published catalog) must plan nothing on the mock;
the table says so and why.
"""

import copy
import functools
import multiprocessing
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from astropy.io import fits
from astropy.table import Table
from snakemake import cli as snakemake_cli

# What a dry run imports, imported once here so that every forked dry run has it (see _snakemake).
import pandas  # noqa: E402,F401  (Snakemake's persistence and dry-run summary)
import snakemake.api  # noqa: E402,F401
import snakemake.dag  # noqa: E402,F401
import snakemake.persistence  # noqa: E402,F401
import snakemake.workflow  # noqa: E402,F401
from spectroparallax import modes  # noqa: E402  (the Snakefile's own imports, and the switches)
from spectroparallax.archives import download, sas  # noqa: E402,F401
from spectroparallax.catalog import table  # noqa: E402,F401
from spectroparallax.io import jobsize, shards  # noqa: E402,F401

from conftest import REPO, TEST_MODE, copy_run, job_counts, run_snakemake

SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
# Dry runs at once (each is one process; the machine has 2 cores).
WORKERS = 2
FIGURES = ("figure1", "figure2", "figure3", "figure4", "figure5", "figure6",
           "figure_crossval", "figure_model", "figure_uncertainty")
BUMP = object()   # the new value is derived from the old one (see _bumped)
ALL = ("*",)      # every job of the changed config's DAG (the survey key)
OTHER_RELEASE = "another release's versions: the run reads mock.release's (dr14) only"
MOCK_UNSEEN = "read only where files are downloaded or queried (survey dr14): the mock never sees it"


@dataclass
class Change:
    """New value of a key and the rules that read it; ``jobs`` overrides job counts for a key that
    changes the DAG's shape (new shards, folds or grid settings are new jobs, not reruns)."""
    value: object
    rules: tuple = ()
    jobs: dict = field(default_factory=dict)
    why: str = ""


def C(value, *rules, jobs=None, why=""):
    return Change(value, rules, jobs or {}, why)


NORMALIZE = "normalize_shard"
CUTS = ("select_samples", "figure1")
PICTURES = FIGURES   # dpi and font size: every figure rule on the mock (published_comparison on dr14)

# The rules each switch of spectroparallax/modes.py reaches (as a param); changing the mode reruns
# all of them. A switch not yet wired into any rule plans nothing.
SWITCH_RULES = {
    # spectra and features
    "ln_flux_errors": ("design_matrix",),
    "continuum_fit": (NORMALIZE,),
    "masking": (NORMALIZE,),
    "pixel_set": ("select_pixels",),
    "magnitude_errors": ("design_matrix",),

    # samples and folds
    "duplicates": ("select_samples",),
    "quality_cut": (),   # on Gaia DR3 only; the mock runs DR2
    "split": ("select_samples",),

    # model
    "high_snr_subset": ("train", "crossval", "figure2"),
    "hyperparameters": ("crossval",),
    "cv_score": ("crossval",),
    "optimizer": ("train",),
    "photometry_basis": ("train",),   # and repeat_train, not in the DAG unless model.split_repeats > 0
    "zero_point": (),    # on Gaia DR3 only; the mock runs DR2

    # catalog and figures
    "catalog": ("catalog",),
    "uncertainties": ("catalog",),
    "figures": ("figure1", "figure2", "figure3", "figure5", "figure6"),   # figure4 and the diagnostics have one style
}
# Switches that change the DAG's shape: job counts as in Change.jobs.
SWITCH_JOBS = {
    "hyperparameters": {"train": 2},   # the paper's one setting x 2 folds: new model files
}
# The switches as the test runs (TEST_MODE) resolve them; each row sets a switch to a value it does not have, and
# the mode row to the other mode, which changes every switch whose two mode values differ.
_CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
RESOLVED = modes.resolve(TEST_MODE, _CONFIG["switches"])   # the runs below are conftest's, in TEST_MODE
OTHER_MODE = next(mode for mode in modes.MODES if mode != TEST_MODE)
CHANGED_BY_MODE = [name for name, value in modes.resolve(OTHER_MODE, _CONFIG["switches"]).items()
                   if value != RESOLVED[name]]
# The paper scripts' figure styles (figures.<figure>.paper) reach a rule only with switches.figures: paper;
# the runs here are in TEST_MODE (improved), so changing one must rerun nothing.
PAPER_STYLE = "read only with switches.figures: paper (the runs here draw with the project's styles)"
_OTHER_WORD = {"linear": "log", "log": "linear", "g": "distance", "distance": "g"}


def _paper_style_value(key: str, value):
    """Another valid value of figures.<figure>.paper.<key> (BUMP for numbers and ranges)."""
    if isinstance(value, bool):
        return not value
    if value is None:
        return [10.0, 18.0] if key == "g" else 1.0
    if isinstance(value, list) and isinstance(value[0], str):
        return value[:1]
    if isinstance(value, str):
        return _OTHER_WORD.get(value, "magma")
    return BUMP


def _paper_style_rows() -> dict:
    rows = {}
    for figure, section in _CONFIG["figures"].items():
        paper = section.get("paper") if isinstance(section, dict) else None
        for key, value in (paper or {}).items():
            leaves = {f"{key}.{k}": v for k, v in value.items()} if isinstance(value, dict) else {key: value}
            for leaf, v in leaves.items():
                rows[f"figures.{figure}.paper.{leaf}"] = C(_paper_style_value(leaf.split(".")[-1], v), why=PAPER_STYLE)
    return rows


OTHER_VALUE = {name: next(v for v in sw.choices if v != RESOLVED[name]) for name, sw in modes.SWITCHES.items()}

CHANGES = {
    "mode": C(OTHER_MODE, *sorted({rule for name in CHANGED_BY_MODE for rule in SWITCH_RULES[name]}),
              jobs={k: v for name in CHANGED_BY_MODE for k, v in SWITCH_JOBS.get(name, {}).items()}),
    **{f"switches.{name}": C(OTHER_VALUE[name], *SWITCH_RULES[name], jobs=SWITCH_JOBS.get(name))
       for name in modes.SWITCHES},
    "survey": C("dr14", *ALL, why="another survey: its own resources/ and results/ folders, nothing shared"),
    # The mock writes and the workflow reads mock.release's layout (dr14): only its versions rerun it.
    "apogee.versions.dr14.apred": C("r9", "mock_survey"),
    "apogee.versions.dr14.aspcap": C("l31d", "mock_survey"),
    "apogee.versions.dr14.results": C("l31c.3", "mock_survey"),
    **{f"apogee.versions.{release}.{key}": C(f"{release}_{key}_new", why=OTHER_RELEASE)
       for release in ("dr16", "dr17") for key in ("apred", "aspcap")},
    "apogee.allstar_lite": C(True, why="DR16/DR17 only: DR14 (mock.release) has no allStarLite file"),
    "apogee.sas_url": C("https://mirror.example.org/sas", why=MOCK_UNSEEN),
    "apogee.sas_root": C("/data/sas", why="the mock reads its own tree (resources/mock/sas)"),
    "apogee.download_shards": C(5, "aspcapstar_shard", jobs={"aspcapstar_shard": 5, "normalize_shard": 5}),
    "apogee.download_threads": C(2, why="connections per download job: no result depends on it"),
    "gaia.tap_url": C("https://gaia.example.org/tap", why=MOCK_UNSEEN),
    # The mock's Gaia file is named for the release, so a DR3 run is a new mock and everything after it.
    "gaia.release": C("dr3", *ALL,
                      why="another Gaia release: a new mock file, new chunk folder and the DR3 offset grid"),
    **{f"gaia.tables.{rel}.{key}": C(f"gaiaedr3.{key}x", why=MOCK_UNSEEN)
       for rel, keys in (("dr2", ("source_table", "tmass_best_neighbour", "allwise_best_neighbour", "allwise_table")),
                         ("dr3", ("source_table", "tmass_join", "tmass_best_neighbour", "allwise_best_neighbour",
                                  "allwise_table")))
       for key in keys},
    "gaia.query_chunks": C(11, "gaia_chunk", jobs={"gaia_chunk": 11}),
    "archive.max_connections": C(4, why="a resource limit: no result depends on it"),
    "spectra.chebyshev_degree": C(3, NORMALIZE),
    "spectra.max_normalized_error": C(0.25, NORMALIZE, "select_pixels"),
    "spectra.mask_grow": C(2, NORMALIZE),
    "spectra.bad_pixel_error": C(999.0, NORMALIZE),
    "spectra.min_continuum_pixels": C(25, NORMALIZE),
    "spectra.shard_size": C(1000, NORMALIZE, why="memory only, but the job gets it as a param"),
    "spectra.min_pixel_coverage": C(0.6, "select_pixels"),
    "sample.logg_min": C(0.1, "reduce_allstar", "select_samples"),
    "sample.logg_max": C(2.0, "reduce_allstar", "select_samples"),
    "sample.colour_cuts.jk_intercept": C(0.5, *CUTS),
    "sample.colour_cuts.jk_slope": C(0.5, *CUTS),
    "sample.colour_cuts.hw2_min": C(0.0, *CUTS),
    "sample.training.parallax_error_max": C(0.2, "select_samples"),
    "sample.training.visibility_periods_min": C(9, "select_samples"),
    "sample.training.astrometric_chi2_max": C(30.0, "select_samples"),
    "features.flux_clip": C([0.02, 1.2], "design_matrix"),
    "features.ln_flux_err_max": C(0.2, "design_matrix"),
    "model.burn_in_snr": C(10.0, "train", "crossval", "summary"),
    "model.offset_grid": C([0.029, 0.048, 0.0], "crossval", jobs={"train": 8}),
    "model.reference_offset": C(0.029, "crossval"),
    "model.reference_offset_tolerance": C(2.0, "crossval"),
    # One lambda changed (30 -> 20): with model.cv_path the first offset is a chain from the largest
    # lambda down and the second offset's jobs start from the first's at the same lambda
    # (model.cv_path_offsets), so lambda 20 is 4 new jobs (2 folds x 2 offsets) and lambdas 10 and 3
    # rerun at both offsets (8 jobs: their start models changed); lambda 100 stays.
    "model.lambda_grid": C([3.0, 10.0, 20.0, 100.0], "crossval", jobs={"train": 12}),
    # Off: the 6 train jobs below the first offset's largest lambda and the second offset's 8 (each from
    # the first offset's model at its lambda, model.cv_path_offsets) lose their start model (input) and
    # rerun cold; the 2 at the first offset's largest lambda started cold already and stay.
    "model.cv_path": C(False, "train", jobs={"train": 14}),
    # Off: the second offset's 8 jobs lose their start (the first offset's model at their lambda) and
    # rerun, the largest lambda cold and the others along their own chain; the first offset's 8 stay.
    "model.cv_path_offsets": C(False, "train", jobs={"train": 8}),
    "model.paper_lambda": C(10.0, why="read only with switches.hyperparameters: paper (the grid otherwise)"),
    "model.paper_offset": C(0.05, why="read only with switches.hyperparameters: paper (the grid otherwise)"),
    "model.dr3.offset_grid": C([-0.01, 0.0, 0.01, 0.02], why="read only with Gaia DR3 (the mock runs DR2)"),
    "model.dr3.reference_offset": C(0.01, why="read only with Gaia DR3 (the mock runs DR2)"),
    "model.dr3.paper_offset": C(0.01, why="read only with Gaia DR3 and switches.hyperparameters: paper"),
    "model.dr3.constant.offset_grid": C([0.017, 0.03], why="read only with Gaia DR3 and switches.zero_point: paper"),
    "model.dr3.constant.reference_offset": C(0.03, why="read only with Gaia DR3 and switches.zero_point: paper"),
    "model.dr3.constant.paper_offset": C(0.03, why="read only with Gaia DR3 and switches.zero_point: paper"),
    "model.n_folds": C(3, "select_samples", jobs={"train": 24}),
    "model.split_seed": C(1, "select_samples"),
    # Off (0) in the completed run: turning it on adds only the repeats' jobs (2 repeats x 2 folds of
    # training, the spread, its figure) to the default target; test_split_repeats.py changes N.
    "model.split_repeats": C(2, "repeat_train", "repeat_spread", "figure_repeats",
                             jobs={"repeat_train": 4, "repeat_spread": 1, "figure_repeats": 1, "all": 1}),
    **{f"mock.{key}": C(BUMP, "mock_survey") for key in SCHEMA["properties"]["mock"]["properties"]},
    "mock.spectra_logg_range": C([0.0, 2.2], "mock_survey"),
    "sample.training.ruwe_max": C(1.2, why="Gaia DR3 only (switches.quality_cut improved); the mock runs DR2"),
    "calibration.outlier_factor": C(5.0, "catalog", why="read by the improved uncertainties (TEST_MODE)"),
    "calibration.fit_scale": C(True, "catalog", why="read by the improved uncertainties (TEST_MODE)"),
    "calibration.epsilon_covariates": C(["TEFF"], "catalog", why="read by the improved uncertainties (TEST_MODE)"),
    "calibration.epsilon_degree": C(1, "catalog", why="read by the improved uncertainties (TEST_MODE)"),
    "mock.release": C("dr17", "mock_survey"),
    "published.url": C("https://example.org/catalog.fits", why="the published catalog is joined on dr14 only"),
    "published.md5": C("0" * 32, why="the published catalog is joined on dr14 only"),
    "published.size": C(1, why="the published catalog is joined on dr14 only"),
    "published.plot_range": C([-0.5, 2.5], why="the published catalog is joined on dr14 only"),
    "galactocentric.galcen_distance": C(8.2, "figure6"),
    "galactocentric.z_sun": C(0.02, "figure6"),
    "galactocentric.galcen_v_sun": C([11.1, 240.0, 7.8], "figure6"),
    # Clusters: any name's entry (the test changes the first cluster's). The member table records
    # every cluster's entry, so even name and distance (drawn only by figure4) rerun it.
    **{f"clusters.*.{key}": C(BUMP, "cluster_members", "figure4")
       for key in SCHEMA["$defs"]["cluster"]["properties"]},
    "clusters.*.name": C("NGC 0000", "cluster_members", "figure4"),
    "figures.dpi": C(100, *PICTURES),
    "figures.font_size": C(10, *PICTURES),
    "figures.high_snr_min": C(10.0, "figure2", "figure3", "figure5"),
    **{f"figures.figure1.{key}": C(BUMP, "figure1") for key in ("bp_rp", "j_k", "h_w2", "logg")},
    "figures.figure1.cmap": C("magma", "figure1"),
    "figures.figure2.parallax": C([-0.5, 2.5], "figure2", "figure3"),
    "figures.figure2.snr": C([40.0, 1000.0], "figure2"),
    "figures.figure2.cmap": C("magma", "figure2"),
    "figures.figure2.snr_scale": C("linear", "figure2"),
    "figures.figure2.panels": C(["training", "high_snr"], "figure2"),
    **{f"figures.figure3.{key}": C(BUMP, "figure3") for key in ("teff", "logg", "fe_h", "h_w2")},
    "figures.figure3.cmap": C("magma", "figure3"),
    **{f"figures.figure5.{key}": C(BUMP, "figure5") for key in ("distance", "g", "log_ratio")},
    "figures.figure5.cmap": C("coolwarm", "figure5"),
    "figures.figure5.x_axis": C("g", "figure5"),
    **{f"figures.{figure}.cuts.{key}": C(value, figure) for figure in ("figure5", "figure6")
       for key, value in (("alpha_m_max", 0.12), ("motions", True), ("fe_h_abs_max", 10.0))},
    "figures.figure6.cuts.vz_max": C(100.0, "figure6"),
    **_paper_style_rows(),
    **{f"figures.figure6.{key}": C(BUMP, "figure6")
       for key in ("z_max", "max_angle", "fe_h", "ring_spacing", "x", "y", "arrow_speed", "arrow_length")},
    "figures.figure6.cmap": C("coolwarm", "figure6"),
    "figures.uncertainty.range": C([-4.0, 4.0], "figure_uncertainty"),
    "figures.uncertainty.bins": C(40, "figure_uncertainty"),
}


def _leaves(schema: dict, prefix: str = "") -> set:
    """Dotted leaf keys of a JSON schema; ``*`` stands for any name (additionalProperties)."""
    if "$ref" in schema:
        schema = SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    if "properties" in schema:
        return set().union(*(_leaves(sub, f"{prefix}{key}.") for key, sub in schema["properties"].items()))
    if isinstance(schema.get("additionalProperties"), dict):
        return _leaves(schema["additionalProperties"], f"{prefix}*.")
    return {prefix.rstrip(".")}


def _config_leaves(cfg, prefix: str = "") -> set:
    """Dotted leaf keys of config.yaml; cluster names become ``*`` as in the schema."""
    if not isinstance(cfg, dict):
        return {prefix.rstrip(".")}
    return set().union(*(_config_leaves(value, f"{prefix}{'*' if prefix == 'clusters.' else key}.")
                         for key, value in cfg.items()))


def _bumped(value):
    """A different valid value: an integer + 1, a number * 1.1 (0 -> 0.01), a list's first element."""
    if isinstance(value, list):
        return [_bumped(value[0]), *value[1:]]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"give an explicit new value for {value!r}")
    if isinstance(value, int):
        return value + 1
    return round(value * 1.1, 6) if value else 0.01


def _changed(cfg: dict, key: str, value) -> dict:
    new = copy.deepcopy(cfg)
    *parents, leaf = key.split(".")
    node = new
    for name in parents:
        node = node[next(iter(node))] if name == "*" else node[name]
    node[leaf] = _bumped(node[leaf]) if value is BUMP else value
    return new


def test_every_config_key_has_a_row():
    """A key added to the schema or config.yaml without a row here fails, by name."""
    keys = _leaves(SCHEMA) | _config_leaves(yaml.safe_load((REPO / "config.yaml").read_text()))
    missing = sorted(keys - set(CHANGES))
    stale = sorted(set(CHANGES) - keys)
    assert not missing, "config keys without a row in CHANGES (give the rules that must rerun): " + ", ".join(missing)
    assert not stale, "rows in CHANGES for keys that no longer exist: " + ", ".join(stale)


@pytest.fixture(scope="session")
def complete_run(figures_run, tmp_path_factory):
    """A copy of the figures run with everything of `snakemake all` built (the summary too)."""
    src, cfg, _ = figures_run
    work = copy_run(src, tmp_path_factory.mktemp("complete_run"))
    out = run_snakemake(work, "--cores", "2", "all")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Nothing to be done" in run_snakemake(work, "-n", "all").stdout
    return work, cfg


def _snakemake(argv: list, log: str) -> tuple[int, str]:
    """Snakemake's CLI with ``argv`` in a fork of this (pre-imported) process: its exit code and output.

    A dry run is mostly Python start-up and imports (~1.5 of ~2 s); a fork has them already, and
    is a fresh process for Snakemake's global state (working directory, logging) all the same.
    """
    pid = os.fork()
    if pid == 0:   # the child: output to the log, never back into the test process
        code = 1
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = sys.stderr = open(1, "w", closefd=False)
            snakemake_cli.main(argv)
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), Path(log).read_text()


def _plan(work: Path, cfg: dict, name: str, target: str, *args) -> dict:
    """{rule: count} that `snakemake -n <target>` plans in ``work`` with ``cfg`` (saved as <name>.yaml)."""
    path = work / "configs" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, text = _snakemake(["--snakefile", str(REPO / "Snakefile"), "--directory", str(work), "-n", "--nolock",
                             target, *args, "--configfile", str(path)], str(path.with_suffix(".log")))
    assert code == 0, f"{name}: {text[-3000:]}"
    return job_counts(subprocess.CompletedProcess([], code, text, ""))


def _plans(work: Path, calls: dict) -> dict:
    """{name: plan} of each call {name: (cfg, target, args)}, WORKERS at a time in forked workers."""
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        results = {name: pool.apply_async(_plan, (work, cfg, name, target, *args))
                   for name, (cfg, target, args) in calls.items()}
        return {name: result.get() for name, result in results.items()}


def test_each_config_key_reruns_exactly_its_dependent_jobs(complete_run):
    work, cfg = complete_run
    (work / "configs").mkdir()
    start = time.monotonic()
    # Keys that must rerun nothing are changed together: any one rerunning something shows.
    unseen = [key for key, change in CHANGES.items() if not change.rules]
    calls = {"unseen": (functools.reduce(lambda c, key: _changed(c, key, CHANGES[key].value), unseen, cfg), "all", ())}
    for key, change in CHANGES.items():
        new = _changed(cfg, key, change.value)
        if change.rules == ("mock_survey",):
            # Everything on the mock follows from the mock survey: nothing can rerun needlessly, so
            # the one question is whether it reruns (a much smaller DAG to build).
            calls[key] = (new, "mock_survey", ())
        elif change.rules == ALL:
            calls[key] = (new, "all", ())
            calls["forceall " + key] = (new, "all", ("--forceall",))
        elif change.rules:
            calls[key] = (new, "all", ())
            calls["forcerun " + " ".join(change.rules)] = (cfg, "all", ("--forcerun", *change.rules))
    calls["unchanged"] = (cfg, "mock_survey", ())   # the mock survey alone is up to date as it was
    plans = _plans(work, calls)
    assert plans["unchanged"] == {}, f"the unchanged mock survey is planned: {plans['unchanged']}"
    failures = [f"{', '.join(unseen)} (changed together): planned {plans['unseen']}, expected nothing"
                ] if plans["unseen"] else []
    for key, change in CHANGES.items():
        if not change.rules:
            continue
        if change.rules == ("mock_survey",):
            expected = {"mock_survey": 1}
        else:
            forced = ("forceall " + key) if change.rules == ALL else ("forcerun " + " ".join(change.rules))
            expected = {**plans[forced], **change.jobs}
        got = plans[key]
        if got != expected:
            extra = {r: n for r, n in got.items() if expected.get(r) != n}
            lacking = {r: n for r, n in expected.items() if got.get(r) != n}
            failures.append(f"{key}: planned {extra or 'nothing'} beyond and {lacking or 'nothing'} short of "
                            f"{', '.join(change.rules) or 'nothing'} and downstream")
    print(f"{len(CHANGES)} keys, {len(calls)} dry runs: {time.monotonic() - start:.0f} s")
    assert not failures, "\n".join(failures)


def _present_spectrum(work: Path, shard: int) -> Path:
    manifest = Table.read(work / f"resources/mock/spectra/manifest_{shard}.ecsv")
    return work / next(p for p, s in zip(manifest["path"], manifest["status"]) if s == "present")


@pytest.mark.parametrize("edit", ["rewrite", "remove"])
def test_a_changed_spectrum_reruns_its_shard_and_what_follows(complete_run, tmp_path, edit):
    """An aspcapStar file of the local SAS tree rewritten (other fluxes) or removed reruns the one shard
    that reads it and everything downstream of that shard, as `--forcerun <its manifest>` would;
    the mock survey that wrote the tree, the other shards and the Gaia chunks stay as they are."""
    src, cfg = complete_run
    work = copy_run(src, tmp_path / "run")
    (work / "configs").mkdir()
    spectrum = _present_spectrum(work, 2)
    if edit == "rewrite":   # a new file renamed over the hard link: the original run is untouched
        fresh = spectrum.with_suffix(".new")
        with fits.open(spectrum) as hdus:   # other fluxes (Snakemake ignores a newer file with the same checksum)
            hdus[1].data = hdus[1].data * 1.01
            hdus.writeto(fresh)
        os.replace(fresh, spectrum)
    else:
        spectrum.unlink()
    plans = _plans(work, {edit: (cfg, "all", ()),
                          "forced": (cfg, "all", ("--forcerun", "resources/mock/spectra/manifest_2.ecsv"))})
    got, expected = plans[edit], plans["forced"]
    assert got == expected and got["aspcapstar_shard"] == 1 and "mock_survey" not in got, (got, expected)
