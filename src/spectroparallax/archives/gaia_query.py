"""Gaia DR2 or DR3 x 2MASS x AllWISE for APOGEE stars, via the Gaia Archive's official cross-matches.

HER19 sec. 4: stars are matched to Gaia DR2 through the Archive's 2MASS best-neighbour table (by
2MASS designation = APOGEE_ID without its '2M' prefix) and to AllWISE through its AllWISE
best-neighbour table (Marrese et al. 2018). One chunk of 2MASS designations is uploaded as a
table (``TAP_UPLOAD.<name>``) and joined on the server; :func:`build_adql` writes the query,
:func:`query_chunk` runs it as an asynchronous TAP job and writes the result with the exact ADQL
beside it. In mock mode :func:`select_chunk` takes the same rows from the mock's table, and
:func:`write_chunk` writes either.

Gaia DR3 (gaia_archive.md sec. 3): 2MASS PSC and XSC are merged and de-duplicated, and the
best-neighbour table lists only the best-astrometry designation of suspected duplicates, so the
designation is joined through ``gaiadr3.tmass_psc_xsc_join`` (original_psc_source_id ->
clean_tmass_psc_xsc_oid) and the key returned is the *uploaded* designation (``up.tmass_id``),
never the listed one. A DR3 result also carries the inputs of the Lindegren et al. (2021) zero
point, which :func:`reduce_chunk` turns into a per-star column (:mod:`.gaia_zero_point`).

The client is astroquery's TAP+ (``astroquery.utils.tap.TapPlus``), the class that
``astroquery.gaia.GaiaClass`` wraps (``GaiaClass.launch_job_async`` only forwards to it). We do not
import ``astroquery.gaia``: importing it builds the module-level ``Gaia`` object, which contacts
gea.esac.esa.int at once, whatever URL is configured.
"""

import http.client
import logging
import re
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import requests
from astropy.table import MaskedColumn, Table, vstack

from spectroparallax.io import atomic
from spectroparallax.archives import gaia_zero_point
from spectroparallax.archives.columns import (GAIA_COLUMNS, GAIA_ZERO_POINT_COLUMNS, gaia_columns, is_tmass_id,
                                              text_column)
from spectroparallax.io.bad_files import set_aside
from spectroparallax.io.errors import GAIA_ADVICE, ArchiveError, ArchiveUnreachable, InputFileError, one_line

log = logging.getLogger(__name__)

ARCHIVE = "Gaia Archive"
#: Column of the uploaded table that holds the 2MASS designations.
UPLOAD_COLUMN = "tmass_id"
#: What to do when the archive rejects the query itself.
QUERY_ADVICE = "check the gaia.tables.<release> names in config.yaml against the ADQL written beside the output"
#: Chunk header keyword naming the Gaia release of its rows.
RELEASE_KEY = "GAIAREL"

# Which joined table each output column comes from (everything else: gaia_source). DR2: the listed
# designation is the uploaded one (the join is on it); DR3: the uploaded one is the key (G2).
_SELECT_EXPR = {
    "dr2": {"tmass_designation": "tm.original_ext_source_id", "allwise_designation": "aw.designation"},
    "dr3": {"tmass_designation": "up.{column}", "allwise_designation": "aw.designation"},
}
#: DR3 extras of the fact sheet's query (sec. 3), selected for provenance; conform() drops them.
_DR3_PROVENANCE = ("tm.original_ext_source_id AS tmass_listed_designation", "tm.angular_distance",
                   "tm.number_of_mates")
#: config gaia.tables.<release> keys each release's query needs.
TABLE_KEYS = {
    "dr2": ("source_table", "tmass_best_neighbour", "allwise_best_neighbour", "allwise_table"),
    "dr3": ("source_table", "tmass_join", "tmass_best_neighbour", "allwise_best_neighbour", "allwise_table"),
}
_ALLWISE_COLUMNS = ("w1mpro", "w1mpro_error", "w2mpro", "w2mpro_error")
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def tmass_designations(apogee_ids: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Split APOGEE_IDs into 2MASS designations and IDs that are not 2MASS-based.

    Returns ``(designations, others)``, each unique and sorted: the designations of the IDs that
    are '2M' + a 2MASS designation (:func:`~spectroparallax.archives.columns.is_tmass_id`), without
    that prefix (as in tmass_best_neighbour.original_ext_source_id); ``others`` are the remaining
    IDs, which the 2MASS cross-match cannot find (the Parent Sample cut-flow counts them).
    """
    ids = np.unique(np.char.strip(np.asarray(list(apogee_ids), dtype=str)))
    is_2mass = is_tmass_id(ids)
    designations = np.char.replace(ids[is_2mass], "2M", "", count=1) if is_2mass.any() else np.zeros(0, str)
    return np.unique(designations), ids[~is_2mass]


def chunk_ids(ids: Iterable[str], chunk_size: int) -> list[np.ndarray]:
    """Split IDs into chunks of at most ``chunk_size``, deterministically.

    The IDs are de-duplicated and sorted first, so chunk ``k`` holds the same IDs whatever order
    they came in; every chunk but the last has exactly ``chunk_size`` IDs.
    """
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    ids = np.unique(np.asarray(list(ids), dtype=str))
    return [ids[i:i + int(chunk_size)] for i in range(0, ids.size, int(chunk_size))]


def upload_table(tmass_ids: Iterable[str], column: str = UPLOAD_COLUMN) -> Table:
    """The table uploaded with a chunk's query: one ASCII column of 2MASS designations."""
    values = np.char.encode(np.asarray(list(tmass_ids), dtype=str), "ascii")
    return Table([values], names=[column])


def build_adql(upload_name: str, tables: dict, release: str = "dr2", *, column: str = UPLOAD_COLUMN) -> str:
    """ADQL joining the uploaded 2MASS designations to Gaia ``release`` and AllWISE.

    ``tables`` is config gaia.tables.<release> (schema.table names, keys :data:`TABLE_KEYS`).
    DR2: ``TAP_UPLOAD.<upload_name>.<column>`` = ``tmass_best_neighbour.original_ext_source_id``.
    DR3 (gaia_archive.md sec. 3): upload -> ``tmass_join.original_psc_source_id``, then
    ``tmass_best_neighbour`` on clean_tmass_psc_xsc_oid, so a designation that is a non-listed
    duplicate still finds its Gaia source; the key column is ``up.<column>``, and the zero-point
    inputs (GAIA_DR3_COLUMNS) are selected. Both: joined to ``source_table`` on source_id; LEFT
    joins to ``allwise_best_neighbour`` (on source_id) and ``allwise_table`` (on allwise_oid) keep
    stars without an AllWISE match. Returns :func:`~.columns.gaia_columns` of the release.
    """
    if release not in TABLE_KEYS:
        raise ValueError(f"Gaia release {release!r}: use dr2 or dr3")
    for key in TABLE_KEYS[release]:
        value = tables.get(key)
        if not _TABLE_NAME.match(str(value)):
            raise ValueError(f"gaia.tables.{release}.{key} = {value!r} is not a schema.table name; fix it in config.yaml")
    for what, value in (("upload table name", upload_name), ("upload column", column)):
        if not _IDENTIFIER.match(str(value)):
            raise ValueError(f"{what} {value!r} is not a plain ADQL identifier")
    select = []
    for name in gaia_columns(release):
        if name in _SELECT_EXPR[release]:
            select.append(f"{_SELECT_EXPR[release][name].format(column=column)} AS {name}")
        elif name in _ALLWISE_COLUMNS:
            select.append(f"aw.{name}")
        else:
            select.append(f"gs.{name}")
    t = tables
    if release == "dr2":
        tmass = f"JOIN {t['tmass_best_neighbour']} AS tm ON tm.original_ext_source_id = up.{column}\n"
    else:
        select[1:1] = _DR3_PROVENANCE
        tmass = (f"JOIN {t['tmass_join']} AS xj ON xj.original_psc_source_id = up.{column}\n"
                 f"JOIN {t['tmass_best_neighbour']} AS tm ON tm.clean_tmass_psc_xsc_oid = xj.clean_tmass_psc_xsc_oid\n")
    return (
        "SELECT\n  " + ",\n  ".join(select) + "\n"
        f"FROM TAP_UPLOAD.{upload_name} AS up\n"
        + tmass +
        f"JOIN {t['source_table']} AS gs ON gs.source_id = tm.source_id\n"
        f"LEFT OUTER JOIN {t['allwise_best_neighbour']} AS awx ON awx.source_id = gs.source_id\n"
        f"LEFT OUTER JOIN {t['allwise_table']} AS aw ON aw.allwise_oid = awx.allwise_oid\n"
    )


def chunk_columns(release: str) -> dict:
    """Columns of a written chunk: the release's query columns, plus the zero point for DR3."""
    return {**gaia_columns(release), **(GAIA_ZERO_POINT_COLUMNS if release == "dr3" else {})}


def conform(table: Table, origin: str, release: str = "dr2", columns: dict | None = None) -> Table:
    """Return ``table`` reduced to the release's columns (order, dtype, unit), rows sorted by designation.

    ``columns`` defaults to :func:`~.columns.gaia_columns` of ``release`` (a query result); the
    header keyword GAIAREL of the result says the release.

    Column names are matched case-insensitively. Missing floats become NaN, missing integers stay
    masked, missing strings become '' (e.g. allwise_designation of a star without an AllWISE match).
    Raises ArchiveError naming ``origin`` if a column is absent.
    """
    columns = gaia_columns(release) if columns is None else columns
    by_lower = {name.lower(): name for name in table.colnames}
    missing = [name for name in columns if name not in by_lower]
    if missing:
        raise ArchiveError(ARCHIVE, origin, f"result lacks column(s) {', '.join(missing)} of Gaia {release.upper()}",
                           QUERY_ADVICE)
    out = Table()
    out.meta[RELEASE_KEY] = release
    for name, (dtype, unit, description) in columns.items():
        col = table[by_lower[name]]
        mask = np.ma.getmaskarray(col)
        kind = np.dtype(dtype).kind
        if kind == "U":
            values = np.asarray(np.ma.filled(col, b"" if col.dtype.kind == "S" else ""))
            if values.dtype.kind == "O":
                values = np.array([v.decode() if isinstance(v, bytes) else ("" if v is None else str(v))
                                   for v in values], dtype=str)
            try:
                out[name] = text_column(values, dtype, name)
            except ValueError as exc:
                raise ArchiveError(ARCHIVE, origin, str(exc), QUERY_ADVICE) from exc
        elif kind == "f":
            out[name] = np.ma.filled(np.ma.asarray(col).astype(dtype), np.nan)
        else:
            values = np.ma.filled(np.ma.asarray(col), 0).astype(dtype)
            out[name] = MaskedColumn(values, mask=mask) if mask.any() else values
        out[name].unit = unit or None
        out[name].description = description
    if len(out):
        out = out[np.argsort(out["tmass_designation"], kind="stable")]
    return out


def select_chunk(table: Table, tmass_ids: Iterable[str], origin: str = "mock", release: str = "dr2") -> Table:
    """Mock mode: the rows of a full Gaia-like ``table`` for one chunk, conformed like a query result."""
    by_lower = {name.lower(): name for name in table.colnames}
    missing = [name for name in gaia_columns(release) if name not in by_lower]
    if missing:  # e.g. a mock written before random_index was a Gaia column
        raise ArchiveError(ARCHIVE, origin, f"table lacks column(s) {', '.join(missing)}",
                           "regenerate the mock survey (snakemake --forcerun mock_survey)")
    keep = np.isin(np.char.strip(np.asarray(table[by_lower["tmass_designation"]]).astype(str)),
                   np.asarray(list(tmass_ids), dtype=str))
    return conform(table[keep], origin, release)


def reduce_chunk(table: Table, release: str) -> Table:
    """A conformed chunk as written: DR3 gets the per-star zero point (:mod:`.gaia_zero_point`)."""
    if release == "dr3":
        table = gaia_zero_point.add_zero_point(table)
    table.meta[RELEASE_KEY] = release
    return table


def adql_path(dest) -> Path:
    """Where the ADQL (provenance) of a chunk output ``dest`` is written: same name, ``.adql``."""
    return Path(dest).with_suffix(".adql")


def write_chunk(table: Table, dest, adql: str) -> None:
    """Write a chunk's provenance text (``adql_path(dest)``) and then its table, each atomically.

    The table's format follows the suffix of ``dest`` (``.fits``, ``.vot``, ``.ecsv``). In mock
    mode pass a comment saying where the rows came from as ``adql``.
    """
    atomic.write_text(adql if adql.endswith("\n") else adql + "\n", adql_path(dest))
    try:
        atomic.write_table(table, dest)
    except BaseException:
        adql_path(dest).unlink(missing_ok=True)
        raise


def read_chunks(paths) -> Table:
    """Read the Gaia chunk files of one survey (rule select_samples) into one table.

    A chunk that cannot be read (truncated, not FITS/VOTable, lacking GAIA_COLUMNS) is renamed to
    ``<name>.bad`` with its ADQL file, so the next run queries it again, and InputFileError names
    it in one line. Chunks with no rows are fine (an empty chunk is a valid answer).
    """
    tables = []
    for path in paths:
        try:
            raw = Table.read(path)
            release = str(raw.meta.get(RELEASE_KEY, "dr2")).lower()
            tables.append(conform(raw, str(path), release, chunk_columns(release)))
        except (MemoryError, PermissionError, FileNotFoundError):
            raise  # the machine's or the user's problem, not the file's: leave it where it is
        except Exception as exc:  # noqa: BLE001 - whatever else the reader raises, the file is unusable
            where = set_aside(path, adql_path(path))
            raise InputFileError(path, f"select_samples: Gaia chunk unreadable ({type(exc).__name__}: "
                                 f"{one_line(exc)[:160]}); {where}",
                                 "rerun: the workflow queries this chunk again") from exc
    if not tables:
        return conform(Table({name: np.zeros(0, dtype=spec[0]) for name, spec in GAIA_COLUMNS.items()}), "none")
    releases = sorted({t.meta[RELEASE_KEY] for t in tables})
    if len(releases) > 1:
        raise InputFileError(paths[0], f"select_samples: Gaia chunks of different releases ({', '.join(releases)})",
                             "delete the stale chunks and rerun")
    return vstack(tables, metadata_conflicts="silent")


class _TimeoutConnections:
    """Connection factory for astroquery's TapConn that sets a socket timeout [s]."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout

    def get_connection(self, *, ishttps=False, cookie=None, verbose=False):
        if ishttps or cookie is not None:
            return self.get_connection_secure(verbose)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def get_connection_secure(self, verbose=False):
        return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout)


def _tap_client(tap_url: str, timeout: float):
    """A TapPlus client for ``tap_url`` (e.g. https://gea.esac.esa.int/tap-server/tap)."""
    from astroquery.utils.tap.conn.tapconn import TapConn
    from astroquery.utils.tap.core import TapPlus

    parts = urlsplit(tap_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"gaia.tap_url = {tap_url!r} is not an http(s) URL; fix it in config.yaml")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    server_context, _, tap_context = parts.path.rstrip("/").rpartition("/")
    conn = TapConn(https, parts.hostname, server_context=server_context or None, tap_context=tap_context or None,
                   upload_context="Upload", port=port, sslport=port,
                   connhandler=_TimeoutConnections(parts.hostname, port, timeout))
    return TapPlus(url=tap_url, connhandler=conn, use_names_over_ids=True), conn


def run_query(adql: str, upload: Table, upload_name: str, *, tap_url: str, retries: int = 3, backoff: float = 10.0,
              timeout: float = 600.0, output_format: str = "votable") -> Table:
    """Run ``adql`` with ``upload`` as ``TAP_UPLOAD.<upload_name>`` as an async TAP job; return the result.

    Connection errors, timeouts and HTTP 5xx/408/429 are retried ``retries`` times, sleeping
    ``backoff * 2**k`` s before retry ``k``. Raises ArchiveUnreachable when no attempt reached the
    host, ArchiveError (one line: archive, URL, what to do) for a rejected or failed query
    (HTTP 4xx, job phase ERROR, error VOTable) or when the retries are used up.
    """
    errors: list[BaseException] = []
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        tap, conn = _tap_client(tap_url, timeout)
        try:
            job = tap.launch_job_async(adql, upload_resource=upload, upload_table_name=upload_name,
                                       output_format=output_format)
            result = job.get_results()
            if result is None:
                raise ArchiveError(ARCHIVE, tap_url, "the job finished without a result table", GAIA_ADVICE)
            return result
        except ArchiveError:
            raise
        except requests.HTTPError as exc:
            status = conn.get_response_status()
            if status >= 500 or status in (408, 429):
                errors.append(exc)
                log.info("%s: attempt %d/%d: HTTP %s %s", tap_url, attempt + 1, retries + 1, status, exc)
                continue
            raise ArchiveError(ARCHIVE, tap_url, f"query rejected (HTTP {status}: {one_line(exc)[:300]})",
                               QUERY_ADVICE) from exc
        except SystemError as exc:  # astroquery's signal for a job that ended in phase ERROR
            raise ArchiveError(ARCHIVE, tap_url, f"query failed: {one_line(exc)[:300]}", QUERY_ADVICE) from exc
        except (OSError, http.client.HTTPException) as exc:  # DNS, refused, reset, timeout, bad status line
            errors.append(exc)
            log.info("%s: attempt %d/%d: %s", tap_url, attempt + 1, retries + 1, exc)
            continue
        except Exception as exc:  # an unreadable reply
            raise ArchiveError(ARCHIVE, tap_url, f"unreadable reply ({type(exc).__name__}: {one_line(exc)[:200]})",
                               GAIA_ADVICE) from exc
    last = errors[-1]
    if all(isinstance(e, (ConnectionRefusedError, socket.gaierror)) for e in errors):
        raise ArchiveUnreachable(ARCHIVE, tap_url, f"host unreachable ({type(last).__name__}: {one_line(last)[:200]}) "
                                 f"after {len(errors)} attempts", GAIA_ADVICE) from last
    raise ArchiveError(ARCHIVE, tap_url, f"failed after {len(errors)} attempts, last: {type(last).__name__}: "
                       f"{one_line(last)[:200]}", GAIA_ADVICE) from last


def query_chunk(tmass_ids: Iterable[str], dest, *, tap_url: str, tables: dict, release: str = "dr2",
                upload_name: str = "apogee", retries: int = 3, backoff: float = 10.0, timeout: float = 600.0) -> Table:
    """Query the Gaia Archive (Gaia ``release``) for one chunk of 2MASS designations; write it to ``dest``.

    ``tap_url`` is config ``gaia.tap_url``, ``tables`` config ``gaia.tables.<release>``. Writes
    the exact ADQL to ``adql_path(dest)`` and the reduced result (:func:`conform`,
    :func:`reduce_chunk`) to ``dest`` (format from its suffix), atomically; on any error
    (ArchiveError) neither is left behind. Returns the table.
    """
    ids = np.asarray(list(tmass_ids), dtype=str)
    adql = build_adql(upload_name, tables, release)
    if ids.size == 0:
        result = Table({name: np.zeros(0, dtype=spec[0]) for name, spec in gaia_columns(release).items()})
    else:
        result = run_query(adql, upload_table(ids), upload_name, tap_url=tap_url, retries=retries,
                           backoff=backoff, timeout=timeout)
    table = conform(result, tap_url, release)
    unknown = np.setdiff1d(table["tmass_designation"], ids)
    if unknown.size:
        raise ArchiveError(ARCHIVE, tap_url, f"result has {unknown.size} designation(s) not in the upload, "
                           f"e.g. {unknown[0]}", QUERY_ADVICE)
    table = reduce_chunk(table, release)
    table.meta["ORIGIN"] = tap_url
    write_chunk(table, dest, adql)
    return table
