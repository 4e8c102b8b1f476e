# Parent Sample, folds, Training Sets (HER19 sec. 4) and the design matrix (eq. 11).

# Reads small tables and writes the cut-flow in seconds: no cluster job for it.
localrules:
    select_samples,


rule select_samples:
    input:
        allstar=f"{DATA}/allstar.fits",
        gaia=expand(f"{GAIA_CHUNK}.fits", chunk=range(N_CHUNKS)),
        spectra=expand(f"{RESULTS}/spectra/shard_{{shard}}/stars.ecsv", shard=range(N_SHARDS)),
    output:
        parent=f"{RESULTS}/samples/parent.fits",
        cutflow=report(f"{RESULTS}/samples/cutflow.csv", caption="../report/cutflow.rst", category="Samples"),
    params:
        sample={**config["sample"], "training": TRAINING_CUTS},
        # Switches (spectroparallax/modes.py): which allStar row of a repeated star is kept, and with it
        # the order of the cuts; seeded random folds or the paper's Gaia random_index parity.
        duplicates=SWITCH["duplicates"],
        split=SWITCH["split"],
        n_folds=config["model"]["n_folds"],
        # The paper's split uses no seed: a new seed then reruns nothing.
        split_seed=config["model"]["split_seed"] if SWITCH["split"] == "improved" else None,
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.select_samples_mem_mb(allstar_rows(), attempt),
        runtime=lambda wildcards, attempt: jobsize.minutes(0, attempt),
    log:
        f"{LOGS}/select_samples.log",
    benchmark:
        f"{BENCHMARKS}/select_samples.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/sample/select_samples.py"


rule design_matrix:
    input:
        parent=f"{RESULTS}/samples/parent.fits",
        pixels=f"{RESULTS}/spectra/pixels.ecsv",
        flux=expand(f"{RESULTS}/spectra/shard_{{shard}}/flux.npy", shard=range(N_SHARDS)),
        err=expand(f"{RESULTS}/spectra/shard_{{shard}}/err.npy", shard=range(N_SHARDS)),
        stars=expand(f"{RESULTS}/spectra/shard_{{shard}}/stars.ecsv", shard=range(N_SHARDS)),
    output:
        X=f"{RESULTS}/features/X.npy",
        X_err=f"{RESULTS}/features/X_err.npy",
        index=f"{RESULTS}/features/features.ecsv",
    params:
        clip=config["features"]["flux_clip"],
        ln_err_max=config["features"]["ln_flux_err_max"],
        ln_flux_errors=SWITCH["ln_flux_errors"],
        magnitude_errors=SWITCH["magnitude_errors"],
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.design_matrix_mem_mb(*design_size(), attempt),
        runtime=lambda wildcards, attempt: jobsize.design_matrix_runtime_min(*design_size(), attempt),
    log:
        f"{LOGS}/design_matrix.log",
    benchmark:
        f"{BENCHMARKS}/design_matrix.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/sample/design_matrix.py"
