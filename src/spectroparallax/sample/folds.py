"""The A/B split of HER19 sec. 3 (K folds in general): each Parent Sample star's fold label.

The model that predicts fold k's stars is trained only on the Training Set stars of the other
folds, so no star's own astrometry touches its spectrophotometric parallax
(:mod:`spectroparallax.model.crossval`).
"""

import hashlib
import string

import numpy as np

from spectroparallax.sample.cutflow import EmptySampleError


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
