"""The house: one subpackage, one rule file and one script folder per stage of the DAG."""

import ast
import importlib
import re

PKG = "src/spectroparallax"
#: The stages of the DAG, in order; io/ is plumbing with no rules of its own.
STAGES = ["mock", "archives", "spectra", "sample", "model", "catalog", "figures"]
#: Rule files of optional analyses beside the stages, with the stages whose script folders they use:
#: repeats.smk (model.split_repeats) trains models and draws a figure.
EXTRA_RULE_FILES = {"repeats": ("model", "figures")}


def test_top_level_holds_only_the_entry_points(repo):
    modules = {p.name for p in (repo / PKG).glob("*.py")}
    assert modules <= {"__init__.py", "__main__.py", "cli.py", "modes.py"}, modules
    subpackages = {p.parent.name for p in (repo / PKG).glob("*/__init__.py")}
    assert subpackages == {*STAGES, "io"}


def test_every_subpackage_says_what_it_owns_reads_and_writes(repo):
    for stage in [*STAGES, "io"]:
        doc = ast.get_docstring(ast.parse((repo / PKG / stage / "__init__.py").read_text()))
        assert doc and len(doc.split()) >= 30, f"{stage}/__init__.py needs a paragraph saying what it owns"
        if stage not in ("io", "figures", "mock"):
            assert re.search(r"\bReads\b", doc) and re.search(r"\bwrites\b", doc), stage


def test_rule_files_and_script_folders_mirror_the_subpackages(repo):
    rules = {p.stem for p in (repo / "workflow/rules").glob("*.smk")}
    assert rules == {*STAGES, "common", *EXTRA_RULE_FILES}
    folders = {p.name for p in (repo / "workflow/scripts").iterdir() if p.is_dir()}
    assert folders == set(STAGES)
    for stage in STAGES:
        link = repo / "workflow/scripts" / stage / "spectroparallax"
        assert link.is_symlink() and link.resolve() == (repo / PKG).resolve(), link
    # Every script a rule names exists, in the folder of the rule file's stage.
    for smk in (repo / "workflow/rules").glob("*.smk"):
        for script in re.findall(r'"\.\./scripts/([^"]+)"', smk.read_text()):
            assert script.split("/")[0] in EXTRA_RULE_FILES.get(smk.stem, (smk.stem,)), (smk.name, script)
            assert (repo / "workflow/scripts" / script).is_file(), script


def test_public_api_stays_where_it_is_documented():
    model = importlib.import_module("spectroparallax.model")
    for name in ("fit", "predict", "objective"):
        assert callable(getattr(model, name)), name
    assert callable(importlib.import_module("spectroparallax.cli").main)
