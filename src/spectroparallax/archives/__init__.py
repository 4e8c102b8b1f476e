"""Stage 1 of the DAG: the archives (HER19 sec. 4's data).

Owns where APOGEE files live on the SDSS Science Archive Server (:mod:`.sas`), resumable, verified
downloads of them (:mod:`.download`), the reduction of the allStar table to the giants and columns
the pipeline needs (:mod:`.allstar`), the Gaia Archive TAP query for Gaia x 2MASS x AllWISE
(:mod:`.gaia_query`) and the names, types and units of every archive column read
(:mod:`.columns`). Reads the SAS (or a local mirror, or the mock's tree) and the Gaia Archive;
writes ``resources/<survey>/`` (allstar.fits, aspcapStar manifests, Gaia chunks with their ADQL).
"""
