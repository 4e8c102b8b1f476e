# Split stability (model.split_repeats; issue 17). HER19's referee asked how the coefficients vary
# from Training Set A to B, and the authors' later code refits over random splits (infer_parallax.py
# @ e306952, "for referee"). With split_repeats N > 0 the A/B training is repeated over N seeded
# random splits at the setting cross-validation chose (crossval/best.yaml; in paper mode the fixed
# paper_lambda / paper_offset, which best.yaml then holds): one repeat_train job per (repeat, held-out
# fold), then the per-star spread of spec_parallax over the repeats against the catalog's
# quoted error (repeat_spread) and the figure of every repeat's coefficients (figure_repeats).
# Repeat r's fold labels are seeded random labels from model.split_seed and r
# (spectroparallax.model.repeats.repeat_seed), also in paper mode: the repeats ask how the fit varies
# over random splits, which the paper's one split by Gaia random_index parity cannot. N = 0 (the
# default) puts none of these jobs in the DAG; changing N adds or removes only repeat jobs (and the
# spread and figure that read them all).

N_REPEATS = config["model"]["split_repeats"]
if N_REPEATS == 1:
    raise WorkflowError(
        "config.yaml: model.split_repeats is 1, but a spread over random splits needs at least 2 repeats; "
        "set it to 0 (off) or 2 or more")
REPEATS_DIR = f"{RESULTS}/repeats"
REPEAT_MODEL = f"{REPEATS_DIR}/repeat_{{repeat}}/heldout_{{fold}}.fits"
REPEAT_MODELS = [REPEAT_MODEL.format(repeat=r, fold=fold) for r in range(N_REPEATS) for fold in FOLDS]
REPEAT_SPREAD = f"{REPEATS_DIR}/spread.fits"
REPEAT_SUMMARY = f"{REPEATS_DIR}/spread_summary.ecsv"
# What the default target `all` (Snakefile) adds: nothing unless split_repeats > 0.
REPEAT_TARGETS = (
    [REPEAT_SPREAD, REPEAT_SUMMARY] + expand(f"{RESULTS}/figures/figure_repeats.{{ext}}", ext=["pdf", "png"])
    if N_REPEATS
    else []
)
# The repeats' fold labels: n_folds seeded random folds whatever switches.split says (see above).
REPEAT_SPLIT = {"n_folds": config["model"]["n_folds"], "split_seed": config["model"]["split_seed"]}


localrules:
    figure_repeats,


rule repeat_train:
    input:
        X=f"{RESULTS}/features/X.npy",
        index=f"{RESULTS}/features/features.ecsv",
        parent=PARENT,
        best=f"{RESULTS}/crossval/best.yaml",
    output:
        REPEAT_MODEL,
    params:
        **REPEAT_SPLIT,
        burn_in_snr=config["model"]["burn_in_snr"],
        high_snr_subset=SWITCH["high_snr_subset"],
        optimizer=SWITCH["optimizer"],
        # the fit's photometric basis, as in rule train
        photometry_basis=SWITCH["photometry_basis"],
        # switches.zero_point: subtract the L21 zero point (Gaia DR3, improved mode only)
        l21=L21,
    wildcard_constraints:
        repeat="[0-9]+",
    threads: 4
    resources:
        # A random half of the Training Set, as large as the catalog's own folds (train_size).
        mem_mb=lambda wildcards, attempt: jobsize.train_mem_mb(*train_size(wildcards), attempt),
        # The lambda crossval chooses is not known yet: the grid's smallest (the slowest fit).
        runtime=lambda wildcards, attempt: jobsize.train_runtime_min(
            *train_size(wildcards), attempt, min(lam for lam, _ in SETTINGS)),
    log:
        f"{LOGS}/repeats/repeat_{{repeat}}_heldout_{{fold}}.log",
    benchmark:
        f"{BENCHMARKS}/repeats/repeat_{{repeat}}_heldout_{{fold}}.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/model/repeat_train.py"


rule repeat_spread:
    input:
        models=REPEAT_MODELS,
        best=f"{RESULTS}/crossval/best.yaml",
        X=f"{RESULTS}/features/X.npy",
        X_err=f"{RESULTS}/features/X_err.npy",
        parent=PARENT,
        catalog=CATALOG,
    output:
        spread=REPEAT_SPREAD,
        summary=REPEAT_SUMMARY,
    params:
        **REPEAT_SPLIT,
        n_repeats=N_REPEATS,
        folds=FOLDS,
        model=lambda wildcards: REPEAT_MODEL,
    threads: 2
    resources:
        mem_mb=predict_mem,
        runtime=predict_runtime(max(N_REPEATS, 1)),
    log:
        f"{LOGS}/repeats/repeat_spread.log",
    benchmark:
        f"{BENCHMARKS}/repeats/repeat_spread.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/model/repeat_spread.py"


rule figure_repeats:
    input:
        models=REPEAT_MODELS,
        summary=REPEAT_SUMMARY,
    output:
        **figure_output("figure_repeats", "split stability: coefficients over repeated random splits"),
    params:
        n_repeats=N_REPEATS,
        folds=FOLDS,
        model=lambda wildcards: REPEAT_MODEL,
        dpi=config["figures"]["dpi"],
        font_size=config["figures"]["font_size"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        f"{LOGS}/figures/figure_repeats.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figures/figure_repeats.py"
