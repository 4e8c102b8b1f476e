# The headline numbers of our catalog, for `snakemake --report` (HER19 Figs. 2 and 5 statistics).


localrules:
    summary,


rule summary:
    input:
        rules.catalog.output.fits,
    output:
        json="results/summary/summary.json",
        csv=report(
            "results/summary/summary.csv",
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
        "logs/summary.log",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/summary.py"
