# Training per (held-out fold, lambda, offset) and the cross-validation that chooses lambda and the
# offset (HER19 sec. 3, 5). In paper mode (switches.hyperparameters: paper) the grid is the paper's one
# setting, and crossval scores it without choosing.


rule train:
    input:
        unpack(train_inputs),
    output:
        MODEL,
    params:
        burn_in_snr=config["model"]["burn_in_snr"],
        high_snr_subset=SWITCH["high_snr_subset"],
        optimizer=SWITCH["optimizer"],
        # magnitudes (the paper's) or one magnitude plus L1-penalized colours
        photometry_basis=SWITCH["photometry_basis"],
        # switches.zero_point: subtract the L21 zero point (Gaia DR3, improved mode only)
        l21=L21,
        # model.cv_path(_offsets): {lam, offset} of the model input ``start`` (checked against its header), or None
        start=warm_start,
    threads: 4
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.train_mem_mb(*train_size(wildcards), attempt),
        runtime=lambda wildcards, attempt: jobsize.train_runtime_min(*train_size(wildcards), attempt, float(wildcards.lam)),
    log:
        f"{LOGS}/train/heldout_{{fold}}_lambda_{{lam}}_offset_{{offset}}.log",
    benchmark:
        f"{BENCHMARKS}/train/heldout_{{fold}}_lambda_{{lam}}_offset_{{offset}}.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/model/train.py"


rule crossval:
    input:
        models=MODELS,
        X=f"{RESULTS}/features/X.npy",
        X_err=f"{RESULTS}/features/X_err.npy",
        parent=f"{RESULTS}/samples/parent.fits",
    output:
        table=f"{RESULTS}/crossval/crossval.csv",  # in the report rounded, by figure_crossval
        best=f"{RESULTS}/crossval/best.yaml",
    params:
        settings=SETTINGS,
        folds=FOLDS,
        snr_min=config["model"]["burn_in_snr"],
        high_snr_subset=SWITCH["high_snr_subset"],
        # None in paper mode (the one setting is the paper's, fixed): see common.smk
        reference_offset=REFERENCE_OFFSET,
        reference_offset_tolerance=REFERENCE_OFFSET_TOLERANCE,
        hyperparameters=SWITCH["hyperparameters"],
        cv_score=SWITCH["cv_score"],
        l21=L21,
    threads: 2
    resources:
        mem_mb=predict_mem,
        runtime=predict_runtime(len(SETTINGS)),
    log:
        f"{LOGS}/crossval.log",
    benchmark:
        f"{BENCHMARKS}/crossval.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/model/crossval.py"
