# The offline mock survey: a small sky written in the archives' own file formats, with the truth.


rule mock_survey:
    output:
        sas=directory(MOCK_SAS),
        gaia=MOCK_GAIA,
        truth="resources/mock/truth.fits",
    params:
        # Only the layout: the mock's files do not depend on where a real SAS would be.
        apogee=SAS_LAYOUT,
        mock=config["mock"],
        # The Gaia release the mock's cross-match imitates (gaia.release; DR2 unless set).
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
