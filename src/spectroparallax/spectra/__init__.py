"""Stage 2 of the DAG: the APOGEE spectra, read and pseudo-continuum normalized (HER19 sec. 4).

Owns the instrument's wavelength grid and chips (:mod:`.apogee_grid`), reading aspcapStar and
apStar files (:mod:`.read`), the continuum normalization and the choice of well-covered pixels
(:mod:`.normalize`, with its compiled pixel loops in :mod:`.normalize_kernels`). Reads the
aspcapStar files listed by the archive stage's manifests; writes
``results/<survey>/spectra/`` (normalized flux and error per shard, the pixels kept).

On the mock's blaze x spline continuum (with weak lines at some continuum pixels) the
pseudo-continuum normalization is biased by +0.09 +- 0.006 percent (median of normalized - true
flux over pixels and stars, noise-free; +- the spread between mock seeds), with a pixel scatter of
0.33 percent (tests/test_normalize_truth.py).
"""
