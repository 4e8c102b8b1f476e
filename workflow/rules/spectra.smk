# Continuum normalization per shard, then the pixels kept across the sample (HER19 sec. 4).


rule normalize_shard:
    input:
        f"{DATA}/spectra/manifest_{{shard}}.ecsv",
    output:
        flux=f"{RESULTS}/spectra/shard_{{shard}}/flux.npy",
        err=f"{RESULTS}/spectra/shard_{{shard}}/err.npy",
        stars=f"{RESULTS}/spectra/shard_{{shard}}/stars.ecsv",
    params:
        # The normalization's own keys (min_pixel_coverage is select_pixels').
        spectra={key: value for key, value in config["spectra"].items() if key != "min_pixel_coverage"},
        continuum_fit=SWITCH["continuum_fit"],
        masking=SWITCH["masking"],
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.normalize_mem_mb(
            shard_files(), config["spectra"]["shard_size"], attempt),
        runtime=lambda wildcards, attempt: jobsize.normalize_runtime_min(shard_files(), attempt),
    log:
        f"{LOGS}/normalize_shard_{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/normalize_shard_{{shard}}.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/spectra/normalize_shard.py"


# pixel_set: paper reads the Parent Sample and the normalized flux too (select_pixels_inputs).
rule select_pixels:
    input:
        unpack(select_pixels_inputs),
    output:
        f"{RESULTS}/spectra/pixels.ecsv",
    params:
        min_coverage=config["spectra"]["min_pixel_coverage"],
        max_error=config["spectra"]["max_normalized_error"],
        pixel_set=SWITCH["pixel_set"],
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.select_pixels_mem_mb(allstar_rows(), attempt),
        runtime=lambda wildcards, attempt: jobsize.minutes(0, attempt),
    log:
        f"{LOGS}/select_pixels.log",
    benchmark:
        f"{BENCHMARKS}/select_pixels.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/spectra/select_pixels.py"
