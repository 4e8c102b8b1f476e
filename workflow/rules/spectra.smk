# Continuum normalization per shard, then the pixels kept across the sample (HER19 sec. 4).


rule normalize_shard:
    input:
        f"{DATA}/spectra/manifest_{{shard}}.ecsv",
    output:
        flux="results/spectra/shard_{shard}/flux.npy",
        err="results/spectra/shard_{shard}/err.npy",
        stars="results/spectra/shard_{shard}/stars.ecsv",
    params:
        spectra=config["spectra"],
    log:
        "logs/normalize_shard_{shard}.log",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/normalize_shard.py"


rule select_pixels:
    input:
        err=expand("results/spectra/shard_{shard}/err.npy", shard=range(N_SHARDS)),
        stars=expand("results/spectra/shard_{shard}/stars.ecsv", shard=range(N_SHARDS)),
    output:
        "results/spectra/pixels.ecsv",
    params:
        min_coverage=config["spectra"]["min_pixel_coverage"],
        max_error=config["spectra"]["max_normalized_error"],
    log:
        "logs/select_pixels.log",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/select_pixels.py"
