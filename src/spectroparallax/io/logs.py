"""The job's log file for every rule script, open from the script's first line to its last.

``job_logging(snakemake)`` is the first statement of each script. From then on the log receives
the script's ``logging`` records, everything it writes to stderr (warnings, the one-line messages
of errors it reports itself before ``sys.exit``; not the redraws of progress bars) and, if it
fails, the exception's one-line message followed by its traceback. A failed job's log therefore
says why it failed. On the console, a failure of the project's own kind (an
:class:`~spectroparallax.io.errors.OneLineError`: a bad file, an empty sample, a full disk, an
unreachable archive) shows as its one line only; any other failure shows its traceback.
"""

import logging
import sys
import traceback

from spectroparallax.io.errors import OneLineError, one_line


class _Tee:
    """A text stream that writes to ``stream`` and also to ``log``; everything else is ``stream``'s."""

    def __init__(self, stream, log):
        self._stream, self._log = stream, log

    def write(self, text):
        n = self._stream.write(text)
        if text.startswith("\r") and "\n" not in text:  # a progress bar redrawn (tqdm): not for the log
            return n
        try:
            self._log.write(text)
        except (OSError, ValueError):  # the log's disk is full or the log is closed: stderr still gets it
            pass
        return n

    def flush(self):
        self._stream.flush()
        try:
            self._log.flush()
        except (OSError, ValueError):
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


def job_logging(snakemake, fmt: str = "%(message)s") -> None:
    """Send logging (INFO and above, formatted by ``fmt``), stderr and any uncaught exception to the job's log.

    ``snakemake`` is the object Snakemake gives a rule script; its first log file is truncated and
    written line by line, so a killed job's log holds everything up to the kill.
    """
    if not snakemake.log:
        raise ValueError(f"rule {snakemake.rule}: no log file; give the rule a log: directive")
    log = open(snakemake.log[0], "w", encoding="utf-8", buffering=1)
    logging.basicConfig(stream=log, level=logging.INFO, format=fmt, force=True)
    console = sys.stderr
    sys.stderr = _Tee(console, log)
    report = sys.excepthook

    def excepthook(kind, value, tb):
        try:
            log.write(f"ERROR: {kind.__name__}: {one_line(value)}\n")
        except (OSError, ValueError):
            pass
        if isinstance(value, OneLineError):
            # The line says it all: the console gets only it, the log the traceback too.
            console.write(f"{one_line(value)}\n")
            traceback.print_exception(kind, value, tb, file=log)
        else:
            report(kind, value, tb)  # the traceback, to stderr and so to the log

    sys.excepthook = excepthook
