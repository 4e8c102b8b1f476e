"""Deterministic splitting of a list into a fixed number of parts (Snakemake shards and chunks).

The number of parts is a config value, so the DAG (one job per part) is known before any data
exist; part k of n items is always the same contiguous slice.
"""

import numpy as np


def part(n_items: int, n_parts: int, k: int) -> np.ndarray:
    """Indices of part ``k`` (0-based) of ``n_items`` split into ``n_parts`` near-equal slices."""
    if n_parts < 1 or not 0 <= k < n_parts:
        raise ValueError(f"part {k} of {n_parts}: need n_parts >= 1 and 0 <= k < n_parts")
    edges = np.linspace(0, n_items, n_parts + 1).round().astype(int)
    return np.arange(edges[k], edges[k + 1])
