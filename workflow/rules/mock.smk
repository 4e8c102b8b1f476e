# The offline mock survey: a small sky written in the archives' own file formats, with the truth.


rule mock_survey:
    output:
        sas=directory(MOCK_SAS),
        gaia="resources/mock/gaia_dr2_xmatch.vot",
        truth="resources/mock/truth.fits",
    params:
        apogee=config["apogee"],
        mock=config["mock"],
    log:
        "logs/mock_survey.log",
    conda:
        "../../envs/science.yaml"
    script:
        "../scripts/mock_survey.py"
