"""Where APOGEE files live in the SDSS Science Archive Server (SAS) directory layout.

The same relative paths are used below the SAS URL (downloads), below a local mirror
(``apogee.sas_root``) and below the mock survey's tree (``resources/mock/sas``), so the code that
reads one reads them all. For DR14 (apred r8, aspcap l31c, results l31c.2)::

    dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/allStar-l31c.2.fits
    dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/<LOCATION_ID>/aspcapStar-r8-l31c.2-<APOGEE_ID>.fits
"""

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

#: What an archive string may hold to become one path component: the characters APOGEE IDs,
#: field names and telescope names use (letters, digits, + - _ .), never a separator.
_SAFE_COMPONENT = re.compile(r"[A-Za-z0-9+\-_.]+")


class UnsafePathComponent(ValueError):
    """An archive string (APOGEE_ID, LOCATION_ID, FIELD, ...) that must not become a path component."""


def safe_component(value, what: str) -> str:
    """``value`` stripped, if it may be one component of a SAS path; else UnsafePathComponent.

    The allStar table is downloaded, so its strings are data, not trusted paths: a ``/``, a ``..``
    or any character the archive does not use in names would let a row steer a download or a read
    outside the SAS tree (e.g. APOGEE_ID ``x/../../outside``).
    """
    text = str(value).strip()
    if not _SAFE_COMPONENT.fullmatch(text) or text in (".", "..") or ".." in text:
        raise UnsafePathComponent(
            f"{what} {text!r} cannot be part of a SAS path (only letters, digits and + - _ . , no '..'); "
            "the row is not fetched or read")
    return text


def results_dir(apogee: Mapping) -> PurePosixPath:
    """Relative SAS directory of one ASPCAP results version (``config['apogee']``)."""
    return PurePosixPath(
        apogee["release"], "apogee", "spectro", "redux", apogee["apred"], "stars",
        apogee["aspcap"], apogee["results"],
    )


def allstar_relpath(apogee: Mapping) -> PurePosixPath:
    """Relative SAS path of the allStar summary table."""
    return results_dir(apogee) / f"allStar-{apogee['results']}.fits"


def aspcapstar_relpath(apogee: Mapping, apogee_id: str, location_id: int | str) -> PurePosixPath:
    """Relative SAS path of one star's aspcapStar file (one per allStar row).

    Raises UnsafePathComponent if the ID or the location would not stay one path component.
    """
    apogee_id = safe_component(apogee_id, "APOGEE_ID")
    location_id = safe_component(location_id, "LOCATION_ID")
    name = f"aspcapStar-{apogee['apred']}-{apogee['results']}-{apogee_id}.fits"
    return results_dir(apogee) / location_id / name


def checksum_relpath(apogee: Mapping, location_id: int | str) -> PurePosixPath:
    """Relative SAS path of the sha1sum list of one aspcapStar folder (DR14 layout).

    DR14 publishes ``stars_<aspcap>_<results>_<LOCATION_ID>.sha1sum`` per location folder, one line
    ``<sha1> <file name>`` per file (shared/data/sas_layout.md sec. 3, from astroNN's downloader).
    """
    location_id = safe_component(location_id, "LOCATION_ID")
    return results_dir(apogee) / location_id / f"stars_{apogee['aspcap']}_{apogee['results']}_{location_id}.sha1sum"


def url(base: str, relpath: PurePosixPath) -> str:
    """Join a SAS base URL (or mirror root) and a relative path."""
    return base.rstrip("/") + "/" + str(relpath)
