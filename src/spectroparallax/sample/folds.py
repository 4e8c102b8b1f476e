"""The A/B split of HER19 sec. 3 (K folds in general): each Parent Sample star's fold label.

The model that predicts fold k's stars is trained only on the Training Set stars of the other
folds, so no star's own astrometry touches its spectrophotometric parallax
(:mod:`spectroparallax.model.crossval`).
"""

import hashlib
import string

import numpy as np


def fold_labels(apogee_ids, n_folds: int, seed: int) -> np.ndarray:
    """Random fold labels 'A', 'B', ... from a hash of (seed, APOGEE_ID).

    A star's label depends only on its ID and the seed, not on which other stars are in the sample,
    so changing a cut upstream does not reshuffle everybody else between folds.
    """
    if not 2 <= n_folds <= 26:
        raise ValueError(f"n_folds must be between 2 and 26, got {n_folds}")
    labels = np.array(list(string.ascii_uppercase[:n_folds]))
    digests = [
        int.from_bytes(hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest(), "little")
        for i in np.char.strip(np.asarray(apogee_ids, dtype=str))
    ]
    return labels[np.asarray(digests, dtype=np.uint64) % np.uint64(n_folds)]
