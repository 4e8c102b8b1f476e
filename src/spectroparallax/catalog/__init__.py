"""Stage 5 of the DAG: the catalog and what is computed from it (HER19 sec. 5, Table 1, Figs. 2-6).

Owns the catalog table with units and descriptions (:mod:`.table`), the summary statistics that
every quoted number comes from (:mod:`.stats`), the published catalog of the paper and the
comparison with it (:mod:`.published`), cluster membership (:mod:`.clusters`, Fig. 4) and
Galactocentric positions and velocities (:mod:`.galactic`, Fig. 6). Reads the cross-validation's
choice, the models, the design matrix and the Parent Sample; writes
``results/<survey>/catalog/``, ``results/<survey>/summary/``, ``results/<survey>/clusters/`` and
``results/<survey>/published/``.
"""
