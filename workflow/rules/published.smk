# The comparison with the paper's published catalog (Zenodo record 1468053): download it, join it to our
# catalog on 2MASS_ID, plot ours against theirs. Only on survey dr14: the mock's stars are not in it.
include: "published_common.smk"


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
        "logs/download_published.log",
    conda:
        "../../envs/archive.yaml"
    script:
        "../scripts/published_download.py"


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
        "logs/join_published.log",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/published_join.py"


rule published_comparison:
    input:
        PUBLISHED_JOINED,
    output:
        stats="results/published/comparison.json",
        pdf="results/figures/published_comparison.pdf",
        png=report(
            "results/figures/published_comparison.png",
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
        "logs/published_comparison.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/published_comparison.py"
