"""Setting a bad input file aside, so that the next run makes or fetches it again.

A truncated or malformed file that a rule wrote (a Gaia chunk) or downloaded (the allStar file)
would otherwise look finished to Snakemake and fail every later run the same way. Renaming it to
``<name>.bad`` keeps it for inspection and makes Snakemake see the output as missing.
"""

from pathlib import Path

#: Suffix appended to the name of a file set aside.
BAD_SUFFIX = ".bad"


def set_aside(path, *companions) -> str:
    """Rename ``path`` (and each of ``companions`` that exists) to ``<name>.bad``.

    An older ``.bad`` copy is replaced. Returns a phrase for the one-line error: where the file
    went, or why it could not be moved (e.g. a read-only mirror), so the user knows what to do.
    """
    path = Path(path)
    try:
        for other in companions:
            other = Path(other)
            if other.exists():
                other.replace(other.with_name(other.name + BAD_SUFFIX))
        bad = path.with_name(path.name + BAD_SUFFIX)
        path.replace(bad)
    except OSError as exc:
        return f"it could not be moved aside ({exc.strerror or exc}): delete or replace it by hand"
    return f"moved aside to {bad.name}"
