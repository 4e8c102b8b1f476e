# APOGEE allStar and aspcapStar files (SAS download, local mirror, or the mock's tree) and the
# Gaia DR2/DR3 cross-match query (gaia.release), sharded as configured.

rule download_allstar:
    output:
        f"{DOWNLOAD_ROOT}/{ALLSTAR_REL}",
    params:
        url=sas.url(config["apogee"]["sas_url"], ALLSTAR_REL),
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.small_mem_mb(attempt),
        runtime=lambda wildcards, attempt: jobsize.minutes(jobsize.ALLSTAR_DOWNLOAD_MIN, attempt),
        archive_connections=1,
    log:
        f"{LOGS}/download_allstar.log",
    benchmark:
        f"{BENCHMARKS}/download_allstar.tsv",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/archives/download_allstar.py"


# A checkpoint: the aspcapStar files a shard reads from a local SAS tree follow from its rows.
checkpoint reduce_allstar:
    input:
        allstar_source,
    output:
        f"{DATA}/allstar.fits",
    params:
        path=f"{sas_root()}/{ALLSTAR_REL}",
        layout=SAS_LAYOUT,
        logg_min=config["sample"]["logg_min"],
        logg_max=config["sample"]["logg_max"],
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.reduce_allstar_mem_mb(allstar_file_mb(), allstar_file_rows(), attempt),
        runtime=lambda wildcards, attempt: jobsize.minutes(30, attempt),
    log:
        f"{LOGS}/reduce_allstar.log",
    benchmark:
        f"{BENCHMARKS}/reduce_allstar.tsv",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/archives/reduce_allstar.py"


rule aspcapstar_shard:
    input:
        unpack(aspcapstar_shard_inputs),
    output:
        f"{DATA}/spectra/manifest_{{shard}}.ecsv",
    params:
        n_shards=N_SHARDS,
        layout=SAS_LAYOUT,
        local=local_sas(),
        root=sas_root(),
        # Only where files are downloaded from: a local tree's files are inputs instead.
        sas_url=None if local_sas() else config["apogee"]["sas_url"],
    threads: max(SHARD_CONNECTIONS, 1)
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.aspcapstar_shard_mem_mb(shard_files(), attempt),
        runtime=lambda wildcards, attempt: jobsize.download_runtime_min(
            shard_files() if SHARD_CONNECTIONS else 0, SHARD_CONNECTIONS, attempt),
        archive_connections=SHARD_CONNECTIONS,
    log:
        f"{LOGS}/aspcapstar_shard_{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/aspcapstar_shard_{{shard}}.tsv",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/archives/aspcapstar_shard.py"


rule gaia_chunk:
    input:
        allstar=f"{DATA}/allstar.fits",
        mock=MOCK_GAIA if SURVEY == "mock" else [],
    output:
        f"{GAIA_CHUNK}.fits",
        f"{GAIA_CHUNK}.adql",
    params:
        n_chunks=N_CHUNKS,
        release=GAIA_RELEASE,
        query=GAIA_QUERY,
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.gaia_chunk_mem_mb(gaia_chunk_rows(), attempt),
        runtime=lambda wildcards, attempt: jobsize.minutes(0 if SURVEY == "mock" else jobsize.TAP_QUERY_MIN, attempt),
        archive_connections=0 if SURVEY == "mock" else 1,
    log:
        f"{LOGS}/gaia_chunk_{{chunk}}.log",
    benchmark:
        f"{BENCHMARKS}/gaia_chunk_{{chunk}}.tsv",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/archives/gaia_chunk.py"
