"""The basis the photometric features are fitted in (switches.photometry_basis; issue 20).

HER19's x (eq. 11; infer_parallax.py @ 7e102f0) holds the eight magnitudes G, BP, RP, J, H, K, W1,
W2 unpenalized. They are nearly collinear (a star's magnitudes are its distance modulus plus
colours), so the fit can trade large coefficients of opposite sign between them (e.g. +8.7 G,
-3.5 BP, -5.6 RP on the default mock), which eq. 5 then multiplies by the photometric errors.
``colours`` fits the same model in another basis: one magnitude (:data:`ANCHOR`, unpenalized: it
carries the distance modulus) and seven colours (:data:`COLOURS`), the colours L1-penalized with
the same lambda as the pixels, so the cross-validated lambda also shrinks the colour terms.

This module owns that basis change, as plain functions on arrays: the matrix T with z = T m (m the
eight magnitudes, z = [anchor, colours]), the design matrix in the z basis, the penalty mask there,
and theta between the bases. x . theta is the same in both (theta_m = T^T theta_z), so the model
files always hold theta in the magnitude basis and everything downstream (prediction, eq. 5 with
its independent magnitude errors) is unchanged. :func:`spectroparallax.model.training.train` calls it.
"""

from dataclasses import dataclass

import numpy as np

#: The values of switches.photometry_basis: the paper's magnitudes, or one magnitude plus colours.
BASES = ("magnitudes", "colours")
#: The magnitude kept unpenalized in the colour basis: K, the band least affected by extinction
#: among those with small errors, so its coefficient is the distance-modulus term.
ANCHOR = "K"
#: The colours, adjacent bands in wavelength order (each a difference first - second).
COLOURS = (("BP", "G"), ("G", "RP"), ("RP", "J"), ("J", "H"), ("H", "K"), ("K", "W1"), ("W1", "W2"))


@dataclass(frozen=True)
class Basis:
    """The colour basis of the photometric columns of one design matrix."""

    columns: np.ndarray   # (8,) int: the photometric columns of X, in the index's order
    T: np.ndarray         # (8, 8): z = T m for the magnitudes m of ``columns``
    penalize: np.ndarray  # (8,) bool: which entries of z are L1-penalized (the colours)
    names: tuple          # the names of z: the anchor, then "BP-G", ...


def colour_basis(names, kind, anchor: str = ANCHOR, colours=COLOURS) -> Basis:
    """The :class:`Basis` of a feature index (``names``, ``kind`` columns of features.ecsv).

    z = [m_anchor, m_a - m_b for (a, b) in ``colours``]. ValueError (one line) if a band is not a
    photometric feature of the index or the anchor and colours do not span the magnitudes.
    """
    names, kind = np.asarray(names, str), np.asarray(kind, str)
    columns = np.flatnonzero(kind == "photometry")
    bands = names[columns].tolist()
    where = {band: k for k, band in enumerate(bands)}
    missing = sorted({anchor, *(b for pair in colours for b in pair)} - set(where))
    if missing:
        raise ValueError(f"photometry_basis: band(s) {', '.join(missing)} are not photometric features of the "
                         f"feature index (it has {', '.join(bands) or 'none'})")
    T = np.zeros((1 + len(colours), len(bands)))
    T[0, where[anchor]] = 1.0
    for row, (a, b) in enumerate(colours, start=1):
        T[row, where[a]], T[row, where[b]] = 1.0, -1.0
    if T.shape[0] != T.shape[1] or np.linalg.matrix_rank(T) < len(bands):
        raise ValueError(f"photometry_basis: {anchor} and the colours {', '.join(f'{a}-{b}' for a, b in colours)} "
                         f"do not span the {len(bands)} magnitudes {', '.join(bands)}")
    penalize = np.ones(len(bands), bool)
    penalize[0] = False
    return Basis(columns, T, penalize, (anchor, *(f"{a}-{b}" for a, b in colours)))


def design_matrix(X, basis: Basis, overwrite: bool = False) -> np.ndarray:
    """X with its photometric columns replaced by z = T m (X's dtype; a copy unless ``overwrite``)."""
    out = X if overwrite else np.array(X)
    mags = np.asarray(out[:, basis.columns], np.float64)
    out[:, basis.columns] = mags @ basis.T.T
    return out


def penalized(penalized_mask, basis: Basis) -> np.ndarray:
    """The penalty mask in the z basis: the given one (the pixels) plus the colours."""
    mask = np.array(penalized_mask, bool)
    mask[basis.columns] = basis.penalize
    return mask


def to_magnitudes(theta_z, basis: Basis) -> np.ndarray:
    """theta in the magnitude basis: theta_m = T^T theta_z on the photometric columns (x . theta unchanged)."""
    theta = np.array(theta_z, np.float64)
    theta[basis.columns] = basis.T.T @ theta[basis.columns]
    return theta


def to_colours(theta_m, basis: Basis) -> np.ndarray:
    """theta in the z basis: theta_z = T^-T theta_m (the inverse of :func:`to_magnitudes`), e.g. a warm start."""
    theta = np.array(theta_m, np.float64)
    theta[basis.columns] = np.linalg.solve(basis.T.T, theta[basis.columns])
    return theta
