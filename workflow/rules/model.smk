# Training per (held-out fold, lambda, offset), cross-validation, and the catalog (HER19 sec. 3, 5).


rule train:
    input:
        X="results/features/X.npy",
        index="results/features/features.ecsv",
        parent="results/samples/parent.fits",
    output:
        MODEL,
    params:
        burn_in_snr=config["model"]["burn_in_snr"],
    threads: 4
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.train_mem_mb(*train_size(wildcards), attempt),
        runtime=lambda wildcards, attempt: jobsize.train_runtime_min(*train_size(wildcards), attempt),
    log:
        "logs/train/heldout_{fold}_lambda_{lam}_offset_{offset}.log",
    benchmark:
        "benchmarks/out/train/heldout_{fold}_lambda_{lam}_offset_{offset}.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/train.py"


rule crossval:
    input:
        models=MODELS,
        X="results/features/X.npy",
        X_err="results/features/X_err.npy",
        parent="results/samples/parent.fits",
    output:
        table=report("results/crossval/crossval.csv", caption="../report/crossval.rst", category="Cross-validation"),
        best="results/crossval/best.yaml",
    params:
        settings=SETTINGS,
        folds=FOLDS,
        snr_min=config["model"]["burn_in_snr"],
        reference_offset=config["model"]["reference_offset"],
    threads: 2
    resources:
        mem_mb=predict_mem,
        runtime=predict_runtime(len(SETTINGS)),
    log:
        "logs/crossval.log",
    benchmark:
        "benchmarks/out/crossval.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/crossval.py"


rule catalog:
    input:
        best="results/crossval/best.yaml",
        models=MODELS,
        X="results/features/X.npy",
        X_err="results/features/X_err.npy",
        parent="results/samples/parent.fits",
    output:
        fits="results/catalog/spectrophotometric_parallaxes.fits",
        csv="results/catalog/spectrophotometric_parallaxes.csv",
    params:
        folds=FOLDS,
        model=lambda wildcards: MODEL,
    threads: 2
    resources:
        mem_mb=predict_mem,
        runtime=predict_runtime(1),
    log:
        "logs/catalog.log",
    benchmark:
        "benchmarks/out/catalog.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/catalog.py"
