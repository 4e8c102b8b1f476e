"""The A/B split of HER19 sec. 3 (K folds in general): each Parent Sample star's fold label.

The ``split`` switch (spectroparallax.modes) picks the rule: ``improved`` draws seeded random labels
for any number of folds (:func:`fold_labels`); ``paper`` splits by the parity of Gaia's
random_index, A even and B odd (:func:`random_index_labels`), as the paper's code did.

The model that predicts fold k's stars is trained only on the Training Set stars of the other
folds, so no star's own astrometry touches its spectrophotometric parallax
(:mod:`spectroparallax.model.crossval`).
"""

import hashlib
import string

import numpy as np

from spectroparallax.sample.cutflow import EmptySampleError

#: Values of the ``split`` switch (spectroparallax.modes.SWITCHES).
SPLIT_RULES = ("paper", "improved")
#: The paper's folds: two, by random_index % 2 (infer_parallax.py @ 7e102f0: ``Kfold = 2``, fold k
#: predicts ``random_index % Kfold == k``; make_figures_HER.py @ 4608f8b writes ``sample`` 'A' for
#: ``random_index % 2 == 0`` and 'B' otherwise, the published catalog's column).
PAPER_N_FOLDS = 2


def fold_labels(apogee_ids, n_folds: int, seed: int, require_all: bool = True) -> np.ndarray:
    """Random fold labels 'A', 'B', ... from a hash of (seed, APOGEE_ID).

    A star's label depends only on its ID and the seed, not on which other stars are in the sample,
    so changing a cut upstream does not reshuffle everybody else between folds. With
    ``require_all`` a fold that gets no star raises EmptySampleError: the model held out on the
    other folds would have no star to predict, and the one held out on it would train on them all.
    """
    if not 2 <= n_folds <= 26:
        raise ValueError(f"n_folds must be between 2 and 26, got {n_folds}")
    labels = np.array(list(string.ascii_uppercase[:n_folds]))
    digests = [
        int.from_bytes(hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest(), "little")
        for i in np.char.strip(np.asarray(apogee_ids, dtype=str))
    ]
    out = labels[np.asarray(digests, dtype=np.uint64) % np.uint64(n_folds)]
    empty = np.setdiff1d(labels, out)
    if require_all and empty.size:
        raise EmptySampleError(
            f"select_samples: folds: fold {', '.join(empty)} of {n_folds} got no Parent Sample star "
            f"({out.size} stars in the Parent Sample); enlarge the sample (see the cut-flow in the log) "
            "or lower model.n_folds")
    return out


def training_rows(training, labels, heldout: str) -> np.ndarray:
    """Rows of the Training Set stars outside fold ``heldout``: what the model that holds that fold
    out is trained on (``training``: the Parent Sample's training flag; ``labels``: its folds)."""
    labels = np.char.strip(np.asarray(labels, dtype=str))
    return np.flatnonzero(np.asarray(training, bool) & (labels != heldout))


def random_index_labels(random_index, apogee_ids=None, require_all: bool = True) -> np.ndarray:
    """The paper's fold labels: 'A' where Gaia DR2's random_index is even, 'B' where it is odd.

    A star without a random_index (masked or negative: a Gaia chunk from before the column was
    queried) raises ValueError in one line naming the first such star (``apogee_ids``) and what to
    do; with ``require_all`` a fold that gets no star raises EmptySampleError, as in :func:`fold_labels`.
    """
    values = np.ma.asarray(random_index)
    bad = np.ma.getmaskarray(values) | (np.ma.filled(values, -1) < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        star = f"APOGEE_ID {str(apogee_ids[first]).strip()}" if apogee_ids is not None else f"row {first}"
        raise ValueError(f"select_samples: folds: {int(bad.sum())} Parent Sample star(s) have no Gaia random_index, "
                         f"e.g. {star}; the paper's split (switches.split: paper) needs it: delete the Gaia "
                         "chunks (resources/<survey>/gaia_<release>/chunk_*.fits) to query them again")
    parity = np.ma.filled(values, 0).astype(np.int64) % PAPER_N_FOLDS
    out = np.where(parity == 0, "A", "B")
    empty = np.setdiff1d(["A", "B"], out)
    if require_all and empty.size:
        raise EmptySampleError(
            f"select_samples: folds: fold {', '.join(empty)} of {PAPER_N_FOLDS} (Gaia random_index "
            f"{'even' if empty[0] == 'A' else 'odd'}) got no Parent Sample star ({out.size} stars in the Parent "
            "Sample); enlarge the sample (see the cut-flow in the log)")
    return out


def assign_folds(parent, split: str, n_folds: int, seed) -> np.ndarray:
    """Each Parent Sample star's fold under the ``split`` switch.

    ``improved``: :func:`fold_labels` of the APOGEE_IDs with ``n_folds`` and ``seed``. ``paper``:
    :func:`random_index_labels` of the ``random_index`` column; ``n_folds`` must be PAPER_N_FOLDS
    (ValueError in one line otherwise; the workflow refuses such a config before it starts).
    """
    if split == "improved":
        return fold_labels(parent["APOGEE_ID"], n_folds, seed)
    if split != "paper":
        raise ValueError(f"select_samples: split must be one of {', '.join(SPLIT_RULES)}, got {split!r}")
    if n_folds != PAPER_N_FOLDS:
        raise ValueError(paper_n_folds_error(n_folds))
    return random_index_labels(parent["random_index"], parent["APOGEE_ID"])


def paper_n_folds_error(n_folds) -> str:
    """The one line saying that the paper's split cannot make ``n_folds`` folds, and what to do."""
    return (f"config.yaml: switches.split is paper (the paper's A/B split by Gaia random_index parity: "
            f"{PAPER_N_FOLDS} folds) but model.n_folds is {n_folds}; set model.n_folds: {PAPER_N_FOLDS}, "
            f"or switches.split: improved for {n_folds} seeded random folds")
