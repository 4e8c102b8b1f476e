# Parent Sample, folds, Training Sets (HER19 sec. 4) and the design matrix (eq. 11).

# Reads small tables and writes the cut-flow in seconds: no cluster job for it.
localrules:
    select_samples,


rule select_samples:
    input:
        allstar=f"{DATA}/allstar.fits",
        gaia=expand(f"{DATA}/gaia/chunk_{{chunk}}.fits", chunk=range(N_CHUNKS)),
        spectra=expand("results/spectra/shard_{shard}/stars.ecsv", shard=range(N_SHARDS)),
    output:
        parent="results/samples/parent.fits",
        cutflow=report("results/samples/cutflow.csv", caption="../report/cutflow.rst", category="Samples"),
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.small_mem_mb(attempt),
        runtime=lambda wildcards, attempt: jobsize.minutes(0, attempt),
    log:
        "logs/select_samples.log",
    benchmark:
        "benchmarks/out/select_samples.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/select_samples.py"


rule design_matrix:
    input:
        parent="results/samples/parent.fits",
        pixels="results/spectra/pixels.ecsv",
        flux=expand("results/spectra/shard_{shard}/flux.npy", shard=range(N_SHARDS)),
        err=expand("results/spectra/shard_{shard}/err.npy", shard=range(N_SHARDS)),
        stars=expand("results/spectra/shard_{shard}/stars.ecsv", shard=range(N_SHARDS)),
    output:
        X="results/features/X.npy",
        X_err="results/features/X_err.npy",
        index="results/features/features.ecsv",
    params:
        clip=config["features"]["flux_clip"],
        ln_err_max=config["features"]["ln_flux_err_max"],
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.design_matrix_mem_mb(*design_size(), attempt),
        runtime=lambda wildcards, attempt: jobsize.design_matrix_runtime_min(*design_size(), attempt),
    log:
        "logs/design_matrix.log",
    benchmark:
        "benchmarks/out/design_matrix.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/design_matrix.py"
