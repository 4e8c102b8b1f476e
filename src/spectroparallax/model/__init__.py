"""Stage 4 of the DAG: the model, its training and the cross-validation (HER19 sec. 3 and 5).

Owns the exp-linear model of eq. 1-5 (:mod:`.exp_linear`: the objective of eq. 3, its exact-L1
fit, the prediction and its propagated uncertainty, eq. 5), the paper's own optimizer kept as a
baseline (:mod:`.paper_optimizer`), model files (:mod:`.files`) and the held-out statistics that
choose lambda and the parallax offset (:mod:`.crossval`). Reads the design matrix and the Parent
Sample; writes ``results/<survey>/models/`` (one file per held-out fold and setting) and
``results/<survey>/crossval/``.

``spectroparallax.model.fit``, ``predict`` and ``objective`` are the public entry points;
:mod:`.training` is the train rule's fit (its burn-in on the high-S/N subset,
``spectroparallax.catalog.stats.high_snr``) with either optimizer (switches.optimizer) and its
collapse check (:mod:`.collapse`). :mod:`.repeats` repeats the A/B fit over seeded random splits
(model.split_repeats) and writes ``results/<survey>/repeats/``: the spread of each star's parallax
over the splits against its quoted error.
"""

from .exp_linear import FitResult, fit, objective, predict

__all__ = ["FitResult", "fit", "objective", "predict"]
