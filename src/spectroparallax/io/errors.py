"""Exceptions for archive access and input files, each printed as ONE line a user can act on.

Snakemake shows the last line of a failed job's traceback; these exceptions put everything a user
needs in that line: which archive (or file), which URL (or column), what went wrong and what to do.
"""

import re

#: What to do when an APOGEE SAS download cannot reach its host.
SAS_ADVICE = "retry later, set apogee.sas_root to a local mirror, or run with --config survey=mock"
#: What to do when the Gaia Archive cannot be reached or fails.
GAIA_ADVICE = "retry later, check gaia.tap_url, or run with --config survey=mock"


def one_line(text) -> str:
    """Collapse whitespace (including newlines) in ``text`` to single spaces."""
    return re.sub(r"\s+", " ", str(text)).strip()


class OneLineError(Exception):
    """Marks the project's exceptions whose ``str()`` is the whole story for a user: one line naming
    the file, star, column or key and what to do. A rule script that dies of one shows only that line
    on the console; its log keeps the traceback (:func:`spectroparallax.io.logs.job_logging`)."""


class ArchiveError(OneLineError, RuntimeError):
    """An archive (SDSS SAS, Gaia Archive) failed or could not be reached.

    ``str()`` is one line: ``<archive>: <problem> (<url>); <action>``.
    """

    def __init__(self, archive: str, url: str, problem: str, action: str):
        self.archive = archive
        self.url = url
        self.problem = one_line(problem)
        self.action = one_line(action)
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.archive}: {self.problem} ({self.url}); {self.action}"


class ArchiveUnreachable(ArchiveError):
    """The archive's host could not be reached at all (DNS failure, connection refused, no network)."""


class InputFileError(OneLineError, ValueError):
    """An input file is unreadable or lacks what the pipeline needs; ``str()`` is one line."""

    def __init__(self, path, problem: str, action: str):
        self.path = str(path)
        self.problem = one_line(problem)
        self.action = one_line(action)
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}; {self.action}"


class MissingColumnError(InputFileError):
    """A table lacks required columns (``missing`` lists them)."""

    def __init__(self, path, missing, action: str):
        self.missing = list(missing)
        super().__init__(path, f"missing required column(s) {', '.join(self.missing)}", action)
