# spectroparallax: Hogg, Eilers & Rix (2019) spectrophotometric parallaxes as a Snakemake workflow.
# Run:  .venv/bin/snakemake --cores 2 --config survey=mock   (offline mock survey -> results/mock/; README.md)
#       .venv/bin/snakemake --cores 8                         (the paper: APOGEE DR14 x Gaia DR2 -> results/dr14/)
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


validate(config, "workflow/schemas/config.schema.yaml")


wildcard_constraints:
    fold="[A-Z]",
    lam=r"[0-9.eE+-]+",
    offset=r"[0-9.eE+-]+",


# One rule file per stage of the DAG, named like the package's subpackages (src/spectroparallax/).
include: "workflow/rules/common.smk"
include: "workflow/rules/mock.smk"
include: "workflow/rules/archives.smk"
include: "workflow/rules/spectra.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/catalog.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/repeats.smk"


# The catalog, its headline numbers and the figures; everything else they need (the mock survey,
# downloads, models) follows from them. `snakemake --report` without a target reports on this DAG.
rule all:
    input:
        rules.catalog.output,
        rules.summary.output,
        rules.figures.input,
        REPEAT_TARGETS,  # the split-stability outputs, only with model.split_repeats > 0 (repeats.smk)
    default_target: True


# The end of a run is where a user looks: repeat there the warnings that otherwise sit in a log file.
onsuccess:
    import sys

    from spectroparallax.figures.crossval import edge_warning_of_run

    if (warning := edge_warning_of_run(f"{RESULTS}/crossval/crossval.csv", f"{RESULTS}/crossval/best.yaml")):
        print(f"\nWARNING (cross-validation, {RESULTS}/crossval/best.yaml): {warning}\n", file=sys.stderr)
