# The offline mock survey: a small sky written in the archives' own file formats, with the truth.


rule mock_survey:
    output:
        sas=directory(MOCK_SAS),
        gaia=MOCK_GAIA,
        truth="resources/mock/truth.fits",
    params:
        # Only the layout of mock.release (its versions and allstar_lite): the mock's files do not
        # depend on where a real SAS would be, nor on the other releases' versions.
        release=RELEASE,
        versions=config["apogee"]["versions"][RELEASE],
        lite=SAS_LAYOUT["lite"],
        mock={key: value for key, value in config["mock"].items() if key != "release"},
        # The Gaia release the mock's cross-match imitates (gaia.release, else mock.release's: DR2 for dr14, DR3 later).
        gaia_release=GAIA_RELEASE,
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: jobsize.mock_mem_mb(config["mock"]["n_stars"], attempt),
        runtime=lambda wildcards, attempt: jobsize.mock_runtime_min(config["mock"]["n_stars"], attempt),
    log:
        f"{LOGS}/mock_survey.log",
    benchmark:
        f"{BENCHMARKS}/mock_survey.tsv",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/mock/mock_survey.py"
