"""A cut-flow table: every star removed from a sample is counted once, with its reason."""

from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table, vstack

from spectroparallax.io.errors import OneLineError


class EmptySampleError(OneLineError, ValueError):
    """A cut left no row in a sample; ``str()`` is one line: stage, cut, counts, what to change."""


@dataclass
class CutFlow:
    """Ordered record of a sequence of cuts applied to a set of rows.

    ``apply(reason, keep)`` removes the rows still alive for which ``keep`` is False and records how
    many were removed for that reason; a row is only ever counted at the first cut it fails.
    With a ``stage`` (e.g. "select_samples: Parent Sample"), a cut that removes every row still
    alive raises :class:`EmptySampleError` naming the stage, the cut, the counts before and after
    and what to change. ``inputs`` holds (sample, CutFlow) of tables read on the way (e.g. the
    Gaia rows), listed before this flow's own rows in :meth:`table`.
    """

    alive: np.ndarray
    start_label: str = "input rows"
    stage: str = ""
    n_start: int = field(init=False)
    steps: list = field(default_factory=list)
    inputs: list = field(default_factory=list)

    def __post_init__(self):
        self.alive = np.asarray(self.alive, dtype=bool).copy()
        self.n_start = int(self.alive.sum())

    def apply(self, reason: str, keep, removed_upstream: int = 0, fix: str = "") -> np.ndarray:
        """Remove the alive rows where ``keep`` is False; return the new alive mask.

        ``removed_upstream`` counts rows that an earlier step (e.g. the reduction of a large input
        file) already removed for the same reason; they are added to the start and to this cut.
        ``fix`` says what to change if this cut empties the sample (see the class docstring).
        """
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != self.alive.shape:
            raise ValueError(f"cut '{reason}': mask has shape {keep.shape}, expected {self.alive.shape}")
        before = int(self.alive.sum()) + removed_upstream
        removed = self.alive & ~keep
        self.alive = self.alive & keep
        self.n_start += removed_upstream
        self.steps.append((reason, int(removed.sum()) + removed_upstream, int(self.alive.sum())))
        if self.stage and before and not self.alive.any():
            raise EmptySampleError(
                f"{self.stage}: no star left after the cut '{reason}' ({before} stars before it, 0 after; "
                f"{self.n_start} {self.start_label} at the start); {fix or 'check the inputs of this cut'}"
            )
        return self.alive

    @property
    def n_kept(self) -> int:
        return int(self.alive.sum())

    def table(self, sample: str) -> Table:
        """The cut-flow as a Table: one row per cut (sample, cut, removed, remaining)."""
        rows = [(sample, self.start_label, 0, self.n_start)]
        rows += [(sample, reason, removed, remaining) for reason, removed, remaining in self.steps]
        own = Table(rows=rows, names=("sample", "cut", "removed", "remaining"))
        return vstack([flow.table(name) for name, flow in self.inputs] + [own])


def format_cutflow(table: Table) -> str:
    """Plain-text rendering of a cut-flow table for logs."""
    width = max(len(c) for c in table["cut"])
    lines = []
    for row in table:
        removed = f"-{row['removed']}" if row["removed"] else ""
        lines.append(f"{row['sample']:>10}  {row['cut']:<{width}}  {removed:>8}  {row['remaining']:>8}")
    return "\n".join(lines)
