"""HTTP downloads of SDSS Science Archive Server (SAS) files, and the local-mirror alternative.

Every download streams to ``<dest>.part`` and is renamed onto ``<dest>`` only once it is complete
and valid, so a finished-looking file is always a good one. The ``.part`` name is fixed (not a
random temporary name as in :mod:`spectroparallax.io.atomic`) so that an interrupted transfer, in this
run or the next, resumes with an HTTP Range request instead of starting over. Retries with
exponential backoff cover connection errors, timeouts, truncated bodies and 5xx replies.

A shard of aspcapStar files is fetched with :func:`download_files`, which writes a manifest
(``APOGEE_ID, url, status, reason, bytes, path``, one row per allStar row, in order; the rule adds
the star keys :data:`STAR_KEYS`): files the archive does not have (404) are recorded there, not
raised. Paths come from the release's layout (:mod:`spectroparallax.archives.sas`) and each
allStar row's own keys. With a local SAS mirror (``apogee.sas_root``) :func:`resolve_local`
makes the same manifest for files read in place.

Where the SAS publishes a sha1sum list for a folder (:func:`aspcapstar_checksums`), every file of
that folder is checked against it, downloaded or found in a mirror: a mismatch is treated like a
truncated file (fetched again; if it persists, the last copy is moved aside as ``.bad`` and the
star is recorded as ``corrupt``, counted, not raised). A folder without a list is checked for
completeness only.
"""

import hashlib

import concurrent.futures as cf
import logging
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath

import requests
import urllib3
from astropy.io import fits
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning
from tqdm.auto import tqdm

from spectroparallax.archives import sas
from spectroparallax.archives.columns import STAR_KEYS
from spectroparallax.io import atomic
from spectroparallax.io.bad_files import set_aside
from spectroparallax.spectra import apogee_grid
from spectroparallax.io.errors import SAS_ADVICE, ArchiveError, ArchiveUnreachable, one_line

log = logging.getLogger(__name__)

ARCHIVE = "SDSS SAS"
#: Manifest columns, in order.
MANIFEST_COLUMNS = ("APOGEE_ID", "url", "status", "reason", "bytes", "path")
#: Manifest ``status`` values. ``refused``: the row has no SAS path (sas.NoSASPath: a string that
#: cannot be a path component, or a telescope the release has no files from), so nothing was
#: fetched or read for it.
DOWNLOADED, PRESENT, MISSING, CORRUPT, FAILED = "downloaded", "present", "missing", "corrupt", "failed"
REFUSED = "refused"
#: HTTP statuses worth retrying besides every 5xx.
_RETRY_STATUS = frozenset({408, 429})
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class RemoteFileMissing(ArchiveError):
    """The archive answered 404/410: it does not have the file."""


class Refused(str):
    """Stands in a job for the URL or path of a row whose strings cannot form a SAS path; the text is why."""


def star_rows(layout: Mapping, table) -> list[dict]:
    """The allStar rows of ``table`` (a Table or a list of mappings) as dicts of the columns the
    release's paths read (sas.path_columns, FILE where present); column lists, not Row objects, so a
    shard of 10^5 rows is quick."""
    if isinstance(table, list):
        return table
    names = [n for n in (*STAR_KEYS, *sas.path_columns(layout), "FILE") if n in table.colnames]
    names = list(dict.fromkeys(names))
    columns = [table[n].tolist() for n in names]
    return [dict(zip(names, values)) for values in zip(*columns)] if names else [{} for _ in range(len(table))]


def _relpath_or_refused(layout: Mapping, row):
    try:
        return sas.aspcapstar_relpath(layout, row)
    except sas.NoSASPath as exc:
        log.warning("%s: %s", str(row.get("APOGEE_ID", "")).strip(), exc)
        return Refused(str(exc))


class CorruptDownload(ArchiveError):
    """Every attempt delivered a complete transfer that failed validation (e.g. a checksum mismatch)."""


def sha1_of(path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_checksums(path) -> dict[str, str]:
    """{file name: sha1} of a sha1sum list (``<sha1> <name>`` or ``<sha1> *<name>`` per line)."""
    sums = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and re.fullmatch(r"[0-9a-fA-F]{40}", parts[0]):
            sums[parts[1].strip().lstrip("*")] = parts[0].lower()
    return sums


def _validator(checksums: Mapping[str, str], n_pixels: int) -> Callable[[Path, Path], str | None]:
    """check(file, as_name) -> why the file is bad (incomplete, or its sha1 differs from the list)."""
    def check(path: Path, dest: Path) -> str | None:
        reason = check_aspcapstar(path, n_pixels)
        if reason is None and dest.name in checksums.get(str(dest.parent), {}):
            expected = checksums[str(dest.parent)][dest.name]
            if (got := sha1_of(path)) != expected:
                reason = f"sha1 {got} differs from the archive's sha1sum list ({expected})"
        return reason
    return check


class _Retry(Exception):
    """A transient failure (5xx, truncated or corrupt body): try again."""


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _chain(exc: BaseException):
    """``exc`` and every exception it wraps (causes, contexts, urllib3 reasons, args)."""
    stack, seen = [exc], set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, urllib3.exceptions.MaxRetryError):
            stack.append(e.reason)
        stack.extend((e.__cause__, e.__context__))
        stack.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))


# urllib3's NewConnectionError (refused, no route, DNS: NameResolutionError) subclasses
# ConnectTimeoutError; a read that fails on an open connection is a ProtocolError instead.
_UNREACHABLE = (urllib3.exceptions.ConnectTimeoutError, socket.gaierror, ConnectionRefusedError)


def _is_unreachable(exc: BaseException) -> bool:
    """True if ``exc`` (or what it wraps) says no connection to the host could be made."""
    return any(isinstance(e, _UNREACHABLE) for e in _chain(exc))


def _describe(exc: BaseException) -> str:
    """A short one-line reason for a failed request."""
    if isinstance(exc, _Retry):
        return str(exc)
    root = next((e for e in _chain(exc) if isinstance(e, _UNREACHABLE)), None)
    if root is not None:
        text = re.sub(r"^\w*Connection(Pool)?\([^)]*\):\s*", "", one_line(root))
        return f"host unreachable ({type(root).__name__}: {text[:160]})"
    return f"{type(exc).__name__}: {one_line(exc)[:200]}"


def check_aspcapstar(path, n_pixels: int = apogee_grid.N_PIXELS) -> str | None:
    """Return why ``path`` is not a complete aspcapStar file, or None if it is.

    A complete file opens as FITS, is not truncated, and has 1-d images of ``n_pixels`` pixels in
    HDU1 (flux) and HDU2 (uncertainty): the aspcapStar layout of DR14, DR16 and DR17 alike
    (sas_layout.md sec. 5; HDU3 model, HDU4 the ASPCAP record are not read). For aspcapStar files
    only: a DR17 apStar file holds 2-d (NVISITS + 2, 8575) arrays, even for one visit, and would fail.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with warnings.catch_warnings():
            # astropy's warnings on a truncated file say what the returned reason says
            warnings.filterwarnings("ignore", "Error validating header", fits.verify.VerifyWarning)
            warnings.filterwarnings("ignore", "File may have been truncated", AstropyUserWarning)
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
        with hdul:
            if len(hdul) < 3:
                return f"has {len(hdul)} HDUs, expected at least 3 (HDU1 flux, HDU2 uncertainty)"
            for i in range(len(hdul)):
                info = hdul.fileinfo(i)
                if info["datLoc"] + info["datSpan"] > size:
                    return f"truncated: HDU{i} ends at byte {info['datLoc'] + info['datSpan']}, file has {size}"
            for i in (1, 2):
                hdr = hdul[i].header
                if hdr.get("NAXIS") != 1 or hdr.get("NAXIS1") != n_pixels:
                    shape = tuple(hdr.get(f"NAXIS{k}") for k in range(1, (hdr.get("NAXIS") or 0) + 1))
                    return f"HDU{i} has shape {shape}, expected ({n_pixels},)"
    except (OSError, ValueError, IndexError, KeyError, TypeError) as exc:
        return f"not a readable FITS file ({type(exc).__name__}: {one_line(exc)[:120]})"
    return None


def _transfer(session: requests.Session, url: str, part: Path, *, timeout: float, chunk_size: int,
              on_response: Callable[[], None] | None, on_bytes: Callable[[int], None] | None) -> int:
    """One GET of ``url`` into ``part``, resuming from its current size; return the final size."""
    have = part.stat().st_size if part.exists() else 0
    # identity: byte ranges and Content-Length must refer to the file itself, not a gzip of it.
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    with session.get(url, headers=headers, stream=True, timeout=timeout) as r:
        if on_response is not None:
            on_response()
        code = r.status_code
        if code in (404, 410):
            raise RemoteFileMissing(ARCHIVE, url, f"HTTP {code} {r.reason}: the archive has no such file",
                                    "check survey (mock.release on the mock) and apogee.versions in config.yaml")
        content_range = _CONTENT_RANGE.match(r.headers.get("Content-Range", ""))
        if code == 416 and have:
            total = content_range and content_range.group(3)
            if total is None:
                m = re.search(r"\*/(\d+)", r.headers.get("Content-Range", ""))
                total = m and m.group(1)
            if total is not None and int(total) == have:
                return have
            part.unlink()
            raise _Retry(f"HTTP 416 for a {have}-byte partial file; restarting from byte 0")
        if code >= 500 or code in _RETRY_STATUS:
            raise _Retry(f"HTTP {code} {r.reason}")
        if code == 206 and have:
            if content_range is None or int(content_range.group(1)) != have:
                part.unlink()
                raise _Retry(f"bad Content-Range {r.headers.get('Content-Range')!r} for Range bytes={have}-")
            total = None if content_range.group(3) == "*" else int(content_range.group(3))
            mode = "ab"
        elif code == 200:
            length = r.headers.get("Content-Length")
            total = int(length) if length is not None else None
            mode = "wb"  # the server ignored Range (or there was none): start over
        else:
            raise ArchiveError(ARCHIVE, url, f"HTTP {code} {r.reason}", "check the URL and apogee.sas_url")
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, mode) as f:
            for chunk in r.iter_content(chunk_size):
                f.write(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        if size > total:
            part.unlink()
        raise _Retry(f"incomplete body: got {size} of {total} bytes")
    return size


def fetch(url: str, dest, *, session: requests.Session | None = None, retries: int = 4, backoff: float = 1.0,
          timeout: float = 60.0, chunk_size: int = 1 << 16, validate: Callable[[Path], str | None] | None = None,
          on_response: Callable[[], None] | None = None, on_bytes: Callable[[int], None] | None = None) -> int:
    """Download ``url`` to ``dest`` (resumable, retried, validated, atomic); return its size [bytes].

    Bytes go to ``<dest>.part``; a partial ``.part`` left by an earlier attempt or run is resumed
    with ``Range: bytes=<size>-``. Connection errors, timeouts, 5xx/408/429 replies and truncated
    bodies (size differs from Content-Length/Content-Range) are retried up to ``retries`` times,
    sleeping ``backoff * 2**k`` seconds before retry ``k``. If ``validate(part)`` returns a reason
    the file is corrupt: it is removed and fetched again. The complete file is renamed onto
    ``dest``.

    Raises RemoteFileMissing (404/410, not retried), ArchiveUnreachable (no connection could be
    made on any attempt) or ArchiveError (other failure after the retries). A partial ``.part``
    stays behind for the next run to resume; nothing is left when no byte arrived.
    """
    dest = Path(dest)
    part = _part_path(dest)
    own_session = session is None
    session = session or requests.Session()
    errors: list[BaseException] = []
    last_corrupt = None
    try:
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                size = _transfer(session, url, part, timeout=timeout, chunk_size=chunk_size,
                                 on_response=on_response, on_bytes=on_bytes)
                reason = validate(part) if validate is not None else None
                if reason is not None:
                    last_corrupt = part.replace(part.with_name(part.name + ".corrupt"))
                    raise _Retry(f"corrupt download: {reason}")
                os.replace(part, dest)
                if last_corrupt is not None:
                    last_corrupt.unlink(missing_ok=True)
                return size
            except (RemoteFileMissing, ArchiveError):
                raise
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema) as exc:
                raise ArchiveError(ARCHIVE, url, f"invalid URL ({exc})", "check apogee.sas_url") from exc
            except (_Retry, requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                errors.append(exc)
                log.info("%s: attempt %d/%d failed: %s", url, attempt + 1, retries + 1, _describe(exc))
    finally:
        if own_session:
            session.close()
    if last_corrupt is not None and all(str(e).startswith("corrupt download: ") for e in errors):
        where = set_aside(last_corrupt.replace(dest))
        raise CorruptDownload(ARCHIVE, url, f"{errors[-1]} on each of {len(errors)} attempts; {where}",
                              "the archive's copy may be damaged: the star is counted without a spectrum")
    if last_corrupt is not None:
        last_corrupt.unlink(missing_ok=True)
    if all(_is_unreachable(e) for e in errors):
        raise ArchiveUnreachable(ARCHIVE, url, f"{_describe(errors[-1])} after {len(errors)} attempts",
                                 SAS_ADVICE) from errors[-1]
    raise ArchiveError(ARCHIVE, url, f"download failed after {len(errors)} attempts, last: {_describe(errors[-1])}",
                       SAS_ADVICE) from errors[-1]


def download_file(url: str, dest, *, retries: int = 4, backoff: float = 1.0, timeout: float = 60.0,
                  chunk_size: int = 1 << 20, validate: Callable[[Path], str | None] | None = None,
                  progress: bool = True) -> Path:
    """Download one (large) file, e.g. allStar, with a byte progress bar; return ``dest``.

    Same behaviour as :func:`fetch`; a missing file (404) is an error here.
    """
    dest = Path(dest)
    with tqdm(total=None, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
        fetch(url, dest, retries=retries, backoff=backoff, timeout=timeout, chunk_size=chunk_size,
              validate=validate, on_bytes=bar.update)
    return dest


def aspcapstar_jobs(layout: Mapping, rows, base_url: str, dest_root) -> list[tuple[str, str, Path]]:
    """(APOGEE_ID, url, dest) for each allStar row's aspcapStar file; ``dest`` mirrors the SAS layout.

    ``layout`` is :func:`spectroparallax.archives.sas.layout`'s dict, ``rows`` an allStar Table (or
    :func:`star_rows`). A row without a SAS path gets a :class:`Refused` as url and dest:
    :func:`download_files` records it as ``refused`` and fetches nothing for it.
    """
    jobs = []
    for row in star_rows(layout, rows):
        apogee_id = str(row.get("APOGEE_ID", "")).strip()
        rel = _relpath_or_refused(layout, row)
        if isinstance(rel, Refused):
            jobs.append((apogee_id, rel, rel))
        else:
            jobs.append((apogee_id, sas.url(base_url, rel), Path(dest_root) / rel))
    return jobs


def _manifest(rows: list[dict]) -> Table:
    table = Table(rows=[[r[c] for c in MANIFEST_COLUMNS] for r in rows] or None, names=MANIFEST_COLUMNS,
                  dtype=[str, str, str, str, "i8", str])
    table["bytes"].unit = "byte"
    return table


def download_files(jobs: Iterable[tuple[str, str, str | os.PathLike]], manifest_path=None, *, threads: int = 4,
                   retries: int = 4, backoff: float = 1.0, timeout: float = 60.0, chunk_size: int = 1 << 16,
                   n_pixels: int = apogee_grid.N_PIXELS, allow_failures: bool = False,
                   progress: bool = True, checksums: Iterable[tuple[str, str | os.PathLike]] = ()) -> Table:
    """Fetch one shard of aspcapStar files; return (and write) its manifest.

    ``checksums`` are ``(url, dest)`` of the sha1sum lists of the shard's folders
    (:func:`aspcapstar_checksums`); each is fetched first (a 404 means no list: that folder's files
    are checked for completeness only) and every file of its folder is checked against it. A file
    whose sha1 still differs after the retries is recorded as ``corrupt`` (moved aside, counted).

    ``jobs`` are ``(apogee_id, url, dest)``. A ``dest`` that already holds a complete aspcapStar
    file (see :func:`check_aspcapstar`) is not fetched (status ``present``); an invalid one is
    removed and fetched again. Files are fetched by ``threads`` threads with :func:`fetch`
    (retries, backoff, resume, validation). The manifest (``MANIFEST_COLUMNS``; written
    atomically to ``manifest_path`` if given, format from its suffix, e.g. ``.ecsv``) records
    every star: ``downloaded``, ``present``, ``missing`` (404: recorded, not raised), ``corrupt``,
    ``refused`` or ``failed``.

    Raises ArchiveUnreachable, with no manifest and no file written, if no request ever reached
    the host (DNS failure, connection refused, no network): after the first such failure the
    remaining jobs are not tried. Raises ArchiveError if any file still failed after the retries,
    unless ``allow_failures`` (then they are recorded as ``failed``).
    """
    refused = {i: u for i, (_, u, _) in enumerate(jobs) if isinstance(u, Refused)}
    jobs = [(str(a).strip(), "" if i in refused else str(u), Path() if i in refused else Path(d))
            for i, (a, u, d) in enumerate(jobs)]
    rows: list[dict | None] = [None] * len(jobs)
    connected, abort = threading.Event(), threading.Event()
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()
    nbytes = [0]

    def count_bytes(n: int) -> None:
        with lock:
            nbytes[0] += n

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            with lock:
                sessions.append(local.session)
        return local.session

    def row(i, status, reason="", size=0):
        apogee_id, url, dest = jobs[i]
        return {"APOGEE_ID": apogee_id, "url": url, "status": status, "reason": reason, "bytes": size,
                "path": "" if i in refused else str(dest)}

    sums = {}
    for sum_url, sum_dest in checksums:
        try:
            fetch(sum_url, sum_dest, session=session(), retries=retries, backoff=backoff, timeout=timeout,
                  on_response=connected.set)
        except RemoteFileMissing:
            continue
        sums[str(Path(sum_dest).parent)] = read_checksums(sum_dest)
    check = _validator(sums, n_pixels)

    def work(i: int) -> dict | None:
        apogee_id, url, dest = jobs[i]
        if abort.is_set():
            return None
        try:
            size = fetch(url, dest, session=session(), retries=retries, backoff=backoff, timeout=timeout,
                         chunk_size=chunk_size, validate=lambda p: check(p, dest),
                         on_response=connected.set, on_bytes=count_bytes)
            return row(i, DOWNLOADED, "", size)
        except RemoteFileMissing as exc:
            return row(i, MISSING, exc.problem)
        except CorruptDownload as exc:
            log.warning("%s: %s", url, exc.problem)
            return row(i, CORRUPT, exc.problem)
        except ArchiveUnreachable as exc:
            if not connected.is_set():
                abort.set()
            return row(i, FAILED, exc.problem)
        except ArchiveError as exc:
            return row(i, FAILED, exc.problem)

    todo = []
    for i, (apogee_id, url, dest) in enumerate(jobs):
        if i in refused:
            rows[i] = row(i, REFUSED, refused[i])
            continue
        if dest.exists():
            reason = check(dest, dest)
            if reason is None:
                rows[i] = row(i, PRESENT, "", dest.stat().st_size)
                continue
            log.warning("%s: removing invalid file before fetching it again: %s", dest, reason)
            dest.unlink()
        todo.append(i)

    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="file", desc="aspcapStar",
               disable=not progress)
    try:
        with cf.ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            futures = {pool.submit(work, i): i for i in todo}
            for fut in cf.as_completed(futures):
                rows[futures[fut]] = fut.result()
                bar.update(1)
                bar.set_postfix_str(f"{nbytes[0] / 1e6:.1f} MB")
    finally:
        bar.close()
        for s in sessions:
            s.close()

    if abort.is_set() and not connected.is_set():
        first = next(r for r in rows if r is not None and r["status"] == FAILED)
        raise ArchiveUnreachable(ARCHIVE, first["url"], f"{first['reason']}; no file of this shard was fetched",
                                 SAS_ADVICE)
    for i in todo:  # skipped after an early "unreachable", although another request got through
        if rows[i] is None:
            rows[i] = row(i, FAILED, "not tried: an earlier request found the host unreachable")
    failed = [r for r in rows if r["status"] == FAILED]
    if failed and not allow_failures:
        raise ArchiveError(ARCHIVE, failed[0]["url"],
                           f"{len(failed)} of {len(jobs)} files failed, e.g. {failed[0]['APOGEE_ID']}: "
                           f"{failed[0]['reason']}", "rerun to resume; " + SAS_ADVICE)
    manifest = _manifest(rows)
    if manifest_path is not None:
        atomic.write_table(manifest, manifest_path)
    return manifest


def aspcapstar_checksums(layout: Mapping, rows, base_url: str | None = None, dest_root=None) -> list:
    """The sha1sum lists of the folders of the allStar ``rows`` (each folder once; rows without a
    path or a known list skipped): relative SAS paths, or with ``base_url`` and ``dest_root``
    ``(url, dest)`` pairs for :func:`download_files`."""
    rels = {}
    for row in star_rows(layout, rows):
        try:
            rel = sas.checksum_relpath(layout, row)
        except sas.NoSASPath:
            continue   # the folder's stars are refused anyway
        if rel is not None:
            rels[rel] = None
    rels = list(rels)
    if base_url is None:
        return rels
    return [(sas.url(base_url, rel), Path(dest_root) / rel) for rel in rels]


def aspcapstar_relpaths(layout: Mapping, rows) -> list[tuple[str, PurePosixPath]]:
    """(APOGEE_ID, relative SAS path) of each allStar row's aspcapStar file, for
    :func:`resolve_local`; a :class:`Refused` instead of the path for a row without one."""
    return [(str(row.get("APOGEE_ID", "")).strip(), _relpath_or_refused(layout, row))
            for row in star_rows(layout, rows)]


def resolve_local(jobs: Iterable[tuple[str, str | PurePosixPath]], sas_root, manifest_path=None, *,
                  validate: bool = True, n_pixels: int = apogee_grid.N_PIXELS,
                  checksums: Iterable[str | PurePosixPath] = ()) -> Table:
    """Find aspcapStar files in a local SAS mirror in place (no copy); return (and write) the manifest.

    ``jobs`` are ``(apogee_id, relpath)`` with ``relpath`` relative to ``sas_root`` (see
    :func:`aspcapstar_relpaths`). Status ``present`` (``path`` is the file in the mirror),
    ``missing`` (no such file) or, with ``validate``, ``corrupt`` (reason given). Missing and
    corrupt files are recorded, not raised, as for downloads. ``checksums`` are the relative paths
    of the folders' sha1sum lists (:func:`aspcapstar_checksums`); where one exists in the mirror, a
    file whose sha1 differs from it is ``corrupt`` too.
    """
    root = Path(sas_root)
    if not root.is_dir():
        raise ArchiveError("local SAS mirror", str(root), "apogee.sas_root is not a directory",
                           "set apogee.sas_root to the folder that holds dr14/, dr16/ or dr17/apogee/..., or null to download")
    sums = {str((root / rel).parent): read_checksums(root / rel) for rel in checksums if (root / rel).is_file()}
    check = _validator(sums, n_pixels)
    rows = []
    for apogee_id, rel in jobs:
        if isinstance(rel, Refused):
            rows.append({"APOGEE_ID": str(apogee_id).strip(), "url": "", "status": REFUSED, "reason": str(rel),
                         "bytes": 0, "path": ""})
            continue
        path = root / rel
        entry = {"APOGEE_ID": str(apogee_id).strip(), "url": path.resolve().as_uri(), "status": PRESENT,
                 "reason": "", "bytes": 0, "path": str(path)}
        if not path.is_file():
            entry.update(status=MISSING, reason="no such file in the local mirror")
        else:
            entry["bytes"] = path.stat().st_size
            reason = check(path, path) if validate else None
            if reason is not None:
                log.warning("%s: %s", path, reason)
                entry.update(status=CORRUPT, reason=reason)
        rows.append(entry)
    manifest = _manifest(rows)
    if manifest_path is not None:
        atomic.write_table(manifest, manifest_path)
    return manifest
