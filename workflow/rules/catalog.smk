# The catalog (HER19 Table 1) at the setting cross-validation chose, its headline numbers for the
# report, the members of the Fig. 4 clusters, and the comparison with the paper's published catalog
# (Zenodo record 1468053; only on survey dr14: the mock's stars are not in it).


# What the catalog is made from: the rules upstream of it on this survey. The header's CFGHASH hashes
# their params, so it changes exactly when a config change reruns something the catalog is made of
# (and so the catalog), never for a figure style or a download setting that changes no result.
CATALOG_UPSTREAM = (["mock_survey"] if SURVEY == "mock" else [] if local_sas() else ["download_allstar"]) + [
    "reduce_allstar", "aspcapstar_shard", "gaia_chunk", "normalize_shard", "select_pixels", "select_samples",
    "design_matrix", "train", "crossval"]
# The calibration keys the catalog reads: only the improved uncertainties use them (the paper mode's
# catalog does not rerun for them), and the degree only with covariates to have a degree in.
_CAL = config["calibration"]
CALIBRATION = {key: _CAL[key] if SWITCH["uncertainties"] == "improved" else None
               for key in ("outlier_factor", "fit_scale", "epsilon_covariates")}
CALIBRATION["epsilon_degree"] = _CAL["epsilon_degree"] if CALIBRATION["epsilon_covariates"] else None


rule catalog:
    input:
        best=f"{RESULTS}/crossval/best.yaml",
        models=MODELS,
        X=f"{RESULTS}/features/X.npy",
        X_err=f"{RESULTS}/features/X_err.npy",
        parent=f"{RESULTS}/samples/parent.fits",
    output:
        fits=f"{RESULTS}/catalog/spectrophotometric_parallaxes.fits",
        csv=f"{RESULTS}/catalog/spectrophotometric_parallaxes.csv",
        calibration=report(
            f"{RESULTS}/catalog/calibration.csv",
            caption="../report/calibration.rst",
            category="Headline numbers",
        ),
    params:
        folds=FOLDS,
        model=lambda wildcards: MODEL,
        style=SWITCH["catalog"],
        training_cuts=TRAINING_CUTS,
        uncertainties=SWITCH["uncertainties"],
        l21=L21,
        **CALIBRATION,
        config_hash=config_hash(
            {"survey": SURVEY, **{name: dict(getattr(rules, name).params.items()) for name in CATALOG_UPSTREAM},
             "catalog": {"style": SWITCH["catalog"], "training_cuts": TRAINING_CUTS,
                         "uncertainties": SWITCH["uncertainties"], **CALIBRATION}}),
    threads: 2
    resources:
        mem_mb=predict_mem,
        runtime=predict_runtime(1),
    log:
        f"{LOGS}/catalog.log",
    benchmark:
        f"{BENCHMARKS}/catalog.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/catalog/catalog.py"


# The headline numbers of our catalog, for `snakemake --report` (HER19 Figs. 2 and 5 statistics).


localrules:
    summary,


rule summary:
    input:
        rules.catalog.output.fits,
    output:
        json=f"{RESULTS}/summary/summary.json",
        csv=report(
            f"{RESULTS}/summary/summary.csv",
            caption="../report/summary.rst",
            category="Headline numbers",
        ),
    params:
        # The same high-S/N subset as the cross-validation's scatter_high_snr.
        snr_min=config["model"]["burn_in_snr"],
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    log:
        f"{LOGS}/summary.log",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/catalog/summary.py"


# Members of the clusters of HER19 Fig. 4, chosen by position, proper motion and radial velocity
# (config.yaml clusters:), with both parallaxes, for the figure and for anyone checking them.


localrules:
    cluster_members,


rule cluster_members:
    input:
        catalog=CATALOG,
        parent=PARENT,
    output:
        members=f"{RESULTS}/clusters/members.ecsv",
        check=report(
            f"{RESULTS}/clusters/check.csv",
            caption="../report/cluster_check.rst",
            category="Headline numbers",
        ),
    params:
        clusters=config["clusters"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        f"{LOGS}/clusters/cluster_members.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/catalog/cluster_members.py"


# The comparison with the published catalog: download it, join it to ours on 2MASS_ID, plot ours
# against theirs (names and the input function in common.smk).


localrules:
    download_published,
    join_published,
    published_comparison,


rule download_published:
    output:
        PUBLISHED_CATALOG,
    params:
        url=config["published"]["url"],
        md5=config["published"]["md5"],
        size=config["published"]["size"],
    threads: 1
    resources:
        mem_mb=200,
        runtime=10,
    log:
        f"{LOGS}/download_published.log",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/catalog/download_published.py"


rule join_published:
    input:
        unpack(published_join_inputs),
    output:
        PUBLISHED_JOINED,
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    log:
        f"{LOGS}/join_published.log",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/catalog/join_published.py"


rule published_comparison:
    input:
        PUBLISHED_JOINED,
    output:
        stats=f"{RESULTS}/published/comparison.json",
        pdf=f"{RESULTS}/figures/published_comparison.pdf",
        png=report(
            f"{RESULTS}/figures/published_comparison.png",
            caption="../report/published_comparison.rst",
            category="Comparison with the published catalog",
        ),
    params:
        plot_range=config["published"]["plot_range"],
        dpi=config["figures"]["dpi"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        f"{LOGS}/published_comparison.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/catalog/published_comparison.py"
