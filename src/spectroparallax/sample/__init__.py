"""Stage 3 of the DAG: the samples and their feature vectors (HER19 sec. 4, eq. 6-11).

Owns the Parent Sample and Training Set cuts (:mod:`.cuts`: eq. 6-7 colour cuts, eq. 8-10
astrometric quality), the A/B (K-fold) split (:mod:`.folds`), the cut-flow table that counts every
star removed with its reason (:mod:`.cutflow`) and the feature vectors x = [1, photometry, ln f] of
eq. 11 with their errors (:mod:`.features`). Reads the reduced allStar table, the Gaia chunks and
the normalized spectra; writes ``results/<survey>/samples/`` (parent.fits, cutflow.csv) and
``results/<survey>/features/`` (the design matrix X, its errors and the feature index).
"""
