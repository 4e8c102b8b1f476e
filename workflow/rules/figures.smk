# Figures 1-6 of HER19 and the cross-validation, model and uncertainty figures. They read the
# catalog, the Parent Sample, the cross-validation table and the model files; they never retrain.
# Each rule passes only its own style section as params, so a change to one figure's style
# reruns only that figure. switches.figures picks, per figure, the project's style or the paper
# script's (figures.<figure>.paper); the style not picked reaches no rule and reruns nothing.

from spectroparallax.figures import style as figure_style

FIG = config["figures"]
# Each styled figure's style as switches.figures picks it: the project's or the paper script's.
STYLE = {name: figure_style.pick(FIG[name], SWITCH["figures"])
         for name in ("figure1", "figure2", "figure3", "figure5", "figure6")}

# Every figure job reads a few small tables and draws for seconds.
FIGURE_RESOURCES = {"mem_mb": 1000, "runtime": 10}
FIGURE_NAMES = ["figure1", "figure2", "figure3", "figure4", "figure5", "figure6",
                "figure_crossval", "figure_model", "figure_uncertainty"]
# Every figure file that `snakemake figures` builds, with the published-catalog comparison
# (catalog.smk; empty on the mock). The rule reads the list when the DAG is built.
FIGURE_FILES = [f"{RESULTS}/figures/{name}.{ext}" for name in FIGURE_NAMES for ext in ("pdf", "png")] + PUBLISHED_FIGURES


localrules:
    figures,
    figure1,
    figure2,
    figure3,
    figure4,
    figure5,
    figure6,
    figure_crossval,
    figure_model,
    figure_uncertainty,


rule figures:
    input:
        lambda wildcards: FIGURE_FILES,
    threads: 1
    resources:
        mem_mb=100,
        runtime=1,


rule figure1:
    input:
        parent=PARENT,
    output:
        **figure_output("figure1", "Fig. 1 colour-colour diagrams"),
    params:
        style=STYLE["figure1"],
        cuts=config["sample"]["colour_cuts"],
        dpi=FIG["dpi"],
        font_size=FIG["font_size"],
    threads: 1
    resources:
        **FIGURE_RESOURCES,
    log:
        f"{LOGS}/figures/figure1.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure1.py"


rule figure2:
    input:
        catalog=CATALOG,
        parent=PARENT,
    output:
        **figure_output("figure2", "Fig. 2 cross-validated parallaxes"),
    params:
        style=STYLE["figure2"],
        snr_min=FIG["high_snr_min"],
        high_snr_subset=SWITCH["high_snr_subset"],
        dpi=FIG["dpi"],
        font_size=FIG["font_size"],
    threads: 1
    resources:
        **FIGURE_RESOURCES,
    log:
        f"{LOGS}/figures/figure2.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure2.py"


rule figure3:
    input:
        catalog=CATALOG,
        parent=PARENT,
    output:
        **figure_output("figure3", "Fig. 3 residuals by Teff, logg, [Fe/H], H-W2"),
    params:
        style=STYLE["figure3"],
        parallax=STYLE["figure2"]["parallax"],
        snr_min=FIG["high_snr_min"],
        dpi=FIG["dpi"],
        font_size=FIG["font_size"],
    threads: 1
    resources:
        **FIGURE_RESOURCES,
    log:
        f"{LOGS}/figures/figure3.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure3.py"


rule figure4:
    input:
        members=f"{RESULTS}/clusters/members.ecsv",
    output:
        **figure_output("figure4", "Fig. 4 cluster parallaxes"),
    params:
        clusters=config["clusters"],
        dpi=FIG["dpi"],
        font_size=FIG["font_size"],
    threads: 1
    resources:
        **FIGURE_RESOURCES,
    log:
        f"{LOGS}/figures/figure4.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure4.py"


rule figure5:
    input:
        catalog=CATALOG,
        parent=PARENT,
    output:
        **figure_output("figure5", "Fig. 5 precision against Gaia"),
    params:
        style=STYLE["figure5"],
        snr_min=FIG["high_snr_min"],
        dpi=FIG["dpi"],
        font_size=FIG["font_size"],
    threads: 1
    resources:
        **FIGURE_RESOURCES,
    log:
        f"{LOGS}/figures/figure5.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure5.py"


rule figure6:
    input:
        catalog=CATALOG,
        parent=PARENT,
    output:
        **figure_output("figure6", "Fig. 6 disk map"),
    params:
        style=STYLE["figure6"],
        frame=config["galactocentric"],
        dpi=FIG["dpi"],
        font_size=FIG["font_size"],
    threads: 1
    resources:
        **FIGURE_RESOURCES,
    log:
        f"{LOGS}/figures/figure6.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure6.py"


rule figure_crossval:
    input:
        table=f"{RESULTS}/crossval/crossval.csv",
        best=f"{RESULTS}/crossval/best.yaml",
    output:
        **figure_output("figure_crossval", "cross-validation against lambda"),
        # crossval.csv rounded for reading, with the grid-edge note its caption includes
        table=report(f"{RESULTS}/figures/crossval_table.csv", caption="../report/crossval.rst", category="Cross-validation"),
        note=f"{RESULTS}/figures/crossval_note.rst",
    params:
        dpi=FIG["dpi"],
        font_size=FIG["font_size"],
    threads: 1
    resources:
        **FIGURE_RESOURCES,
    log:
        f"{LOGS}/figures/figure_crossval.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure_crossval.py"


rule figure_model:
    input:
        best=f"{RESULTS}/crossval/best.yaml",
        models=MODELS,
    output:
        **figure_output("figure_model", "model coefficients"),
    params:
        folds=FOLDS,
        model=lambda wildcards: MODEL,
        dpi=FIG["dpi"],
        font_size=FIG["font_size"],
    threads: 1
    resources:
        **FIGURE_RESOURCES,
    log:
        f"{LOGS}/figures/figure_model.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure_model.py"


rule figure_uncertainty:
    input:
        catalog=CATALOG,
        parent=PARENT,
    output:
        **figure_output("figure_uncertainty", "normalized residuals"),
    params:
        style=FIG["uncertainty"],
        dpi=FIG["dpi"],
        font_size=FIG["font_size"],
    threads: 1
    resources:
        **FIGURE_RESOURCES,
    log:
        f"{LOGS}/figures/figure_uncertainty.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure_uncertainty.py"
