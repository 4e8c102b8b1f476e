# APOGEE allStar and aspcapStar files (SAS download, local mirror, or the mock's tree) and the
# Gaia DR2 cross-match query, sharded as configured.

rule download_allstar:
    output:
        f"{DOWNLOAD_ROOT}/{ALLSTAR_REL}",
    params:
        url=sas.url(config["apogee"]["sas_url"], ALLSTAR_REL),
    log:
        f"logs/{SURVEY}/download_allstar.log",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/download_allstar.py"


rule reduce_allstar:
    input:
        allstar_source,
    output:
        f"{DATA}/allstar.fits",
    params:
        path=f"{sas_root()}/{ALLSTAR_REL}",
        logg_min=config["sample"]["logg_min"],
        logg_max=config["sample"]["logg_max"],
    log:
        f"logs/{SURVEY}/reduce_allstar.log",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/reduce_allstar.py"


rule aspcapstar_shard:
    input:
        allstar=f"{DATA}/allstar.fits",
        tree=MOCK_SAS if SURVEY == "mock" else [],
    output:
        f"{DATA}/spectra/manifest_{{shard}}.ecsv",
    params:
        n_shards=N_SHARDS,
        local=local_sas(),
        root=sas_root(),
        sas_url=config["apogee"]["sas_url"],
    threads: config["apogee"]["download_threads"]
    log:
        f"logs/{SURVEY}/aspcapstar_shard_{{shard}}.log",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/aspcapstar_shard.py"


rule gaia_chunk:
    input:
        allstar=f"{DATA}/allstar.fits",
        mock="resources/mock/gaia_dr2_xmatch.vot" if SURVEY == "mock" else [],
    output:
        f"{DATA}/gaia/chunk_{{chunk}}.fits",
        f"{DATA}/gaia/chunk_{{chunk}}.adql",
    params:
        n_chunks=N_CHUNKS,
    log:
        f"logs/{SURVEY}/gaia_chunk_{{chunk}}.log",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/gaia_chunk.py"
