"""Where APOGEE DR14, DR16 and DR17 files live in the SDSS Science Archive Server (SAS) layout.

The same relative paths are used below the SAS URL (downloads), below a local mirror
(``apogee.sas_root``) and below the mock survey's tree (``resources/mock/sas``), so the code that
reads one reads them all. The layouts are data (:data:`RELEASES`), from shared/data/sas_layout.md
sec. 2-3 (sdss-tree 4.1.4, sdss-access 3.0.11, jobovy/apogee, astroNN)::

    DR14  dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/allStar-l31c.2.fits
          .../l31c.2/<LOCATION_ID>/aspcapStar-r8-l31c.2-<APOGEE_ID>.fits        (apo25m)
          .../l31c.2/<FIELD>/<FILE with apStar-r8- -> aspcapStar-r8-l31c.2->   (apo1m, LOCATION_ID 1)
    DR16  dr16/apogee/spectro/aspcap/r12/l33/allStar-r12-l33.fits  (allStarLite-r12-l33.fits)
          .../l33/<TELESCOPE>/<FIELD>/aspcapStar-r12-<APOGEE_ID>.fits
    DR17  dr17/apogee/spectro/aspcap/dr17/synspec_rev1/allStar-dr17-synspec_rev1.fits  (allStarLite-...)
          .../synspec_rev1/<TELESCOPE>/<FIELD>/aspcapStar-dr17-<APOGEE_ID>.fits

A *layout* is a plain dict (:func:`layout`): release, apred, aspcap, results (None from DR16 on)
and lite. Rules get it as a param, so changing one release's versions reruns only that release's
jobs. Path functions take one allStar row (a dict or an astropy Row) and read the columns the
release's path needs (:func:`path_columns`); an archive string that cannot be a path component,
or a telescope the release has no data from, raises :class:`NoSASPath` (the row is ``refused``).
"""

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

#: What an archive string may hold to become one path component: the characters APOGEE IDs,
#: field names and telescope names use (letters, digits, + - _ .), never a separator.
_SAFE_COMPONENT = re.compile(r"[A-Za-z0-9+\-_.]+")


class NoSASPath(ValueError):
    """An allStar row that cannot be given a SAS path; ``str()`` says why (the manifest's reason)."""


class UnsafePathComponent(NoSASPath):
    """An archive string (APOGEE_ID, LOCATION_ID, FIELD, ...) that must not become a path component."""


class NoSuchTelescope(NoSASPath):
    """A row from a telescope the release has no aspcapStar files of (e.g. lco25m in DR14)."""


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


@dataclass(frozen=True)
class Release:
    """One data release's SAS layout. Templates are str.format strings over the layout's versions
    (release, apred, aspcap, results) and the row's columns (APOGEE_ID, TELESCOPE, FIELD,
    LOCATION_ID); ``folder``, ``aspcapstar`` and ``checksum`` are per telescope (None: no
    checksum list known). ``aspcapstar`` None means the name comes from the FILE column."""
    root: str
    allstar: str
    allstar_lite: str | None
    folder: Mapping[str, str]
    aspcapstar: Mapping[str, str | None]
    checksum: Mapping[str, str | None]
    versions: tuple[str, ...]
    path_columns: tuple[str, ...]
    first_with_lco: str = "dr16"


_DR16_ON = dict(
    root="{release}/apogee/spectro/aspcap/{apred}/{aspcap}",
    allstar="allStar-{apred}-{aspcap}.fits",
    allstar_lite="allStarLite-{apred}-{aspcap}.fits",
    folder={t: "{TELESCOPE}/{FIELD}" for t in ("apo25m", "apo1m", "lco25m")},
    aspcapstar={t: "aspcapStar-{apred}-{APOGEE_ID}.fits" for t in ("apo25m", "apo1m", "lco25m")},
    versions=("apred", "aspcap"),
    path_columns=("APOGEE_ID", "TELESCOPE", "FIELD"),
)

#: The layouts (shared/data/sas_layout.md sec. 2-3). DR14 has no lco25m data (LCO first in DR16)
#: and no checksum list is known for its apo1m folders.
RELEASES = {
    "dr14": Release(
        root="{release}/apogee/spectro/redux/{apred}/stars/{aspcap}/{results}",
        allstar="allStar-{results}.fits",
        allstar_lite=None,
        folder={"apo25m": "{LOCATION_ID}", "apo1m": "{FIELD}"},
        aspcapstar={"apo25m": "aspcapStar-{apred}-{results}-{APOGEE_ID}.fits", "apo1m": None},
        checksum={"apo25m": "stars_{aspcap}_{results}_{LOCATION_ID}.sha1sum", "apo1m": None},
        versions=("apred", "aspcap", "results"),
        path_columns=("APOGEE_ID", "TELESCOPE", "FIELD", "LOCATION_ID"),
    ),
    "dr16": Release(**_DR16_ON, checksum={t: "{apred}_{aspcap}_{TELESCOPE}_{FIELD}.sha1sum"
                                          for t in ("apo25m", "apo1m", "lco25m")}),
    # DR17's results were revised (synspec -> synspec_rev1) for lco25m only: the apo25m/apo1m
    # checksum lists keep the old name (astroNN's downloader).
    "dr17": Release(**_DR16_ON, checksum={"apo25m": "{apred}_synspec_{TELESCOPE}_{FIELD}.sha1sum",
                                          "apo1m": "{apred}_synspec_{TELESCOPE}_{FIELD}.sha1sum",
                                          "lco25m": "{apred}_{aspcap}_lco25m_{FIELD}.sha1sum"}),
}


def layout(release: str, versions: Mapping, *, lite: bool = False) -> dict:
    """The layout dict of ``release`` from ``config['apogee']['versions']`` (its own entry only).

    ``lite`` reads allStarLite instead of allStar (DR16/DR17; DR14 has none: ValueError).
    """
    if release not in RELEASES:
        raise ValueError(f"unknown APOGEE release {release!r}; known: {', '.join(RELEASES)}")
    spec, mine = RELEASES[release], versions.get(release) or {}
    missing = [key for key in spec.versions if not mine.get(key)]
    if missing:
        raise ValueError(f"apogee.versions.{release} needs {', '.join(spec.versions)}; missing {', '.join(missing)}")
    if lite and spec.allstar_lite is None:
        raise ValueError(f"apogee.allstar_lite: {release} has no allStarLite file; set it false")
    out = {"release": release, "apred": None, "aspcap": None, "results": None, "lite": bool(lite)}
    out.update({key: str(mine[key]) for key in spec.versions})
    return out


def _release(layout_: Mapping) -> Release:
    return RELEASES[layout_["release"]]


def path_columns(layout_: Mapping) -> tuple[str, ...]:
    """allStar columns the release's aspcapStar paths need (FILE is used where present)."""
    return _release(layout_).path_columns


def results_dir(layout_: Mapping) -> PurePosixPath:
    """Relative SAS directory of the release's ASPCAP results (allStar and the star folders)."""
    return PurePosixPath(_release(layout_).root.format(**layout_))


def allstar_relpath(layout_: Mapping) -> PurePosixPath:
    """Relative SAS path of the allStar summary table (allStarLite with ``lite``)."""
    spec = _release(layout_)
    name = spec.allstar_lite if layout_.get("lite") else spec.allstar
    return results_dir(layout_) / name.format(**layout_)


def _value(row, name):
    """``row[name]`` (dict or astropy Row), stripped text; None where the column is absent or masked."""
    try:
        value = row[name]
    except (KeyError, ValueError, IndexError):
        return None
    if value is None or value is np.ma.masked:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip()


def _row_keys(layout_: Mapping, row) -> tuple[Release, dict]:
    """The release and the row's path columns (stripped text; absent columns left out); the
    TELESCOPE is checked here, the others where a template uses them (:func:`_format`)."""
    spec = _release(layout_)
    keys = {name: v for name in spec.path_columns if (v := _value(row, name)) is not None}
    telescope = safe_component(keys.get("TELESCOPE", ""), "TELESCOPE")
    if telescope not in spec.folder:
        raise NoSuchTelescope(
            f"TELESCOPE {telescope!r}: {layout_['release']} has no aspcapStar files from it (only "
            f"{', '.join(spec.folder)}; lco25m data start in {spec.first_with_lco}); the row is not fetched or read")
    return spec, keys


def _format(template: str, layout_: Mapping, keys: Mapping, what: str) -> str:
    """``template`` filled in; every row value it uses must be one safe path component."""
    used = {name for _, name, _, _ in string.Formatter().parse(template) if name and name not in layout_}
    absent = sorted(used - set(keys))
    if absent:
        raise UnsafePathComponent(f"{what}: the allStar row has no {', '.join(absent)}; the row is not fetched or read")
    return template.format(**layout_, **{name: safe_component(keys[name], name) for name in used})


def _folder(layout_: Mapping, row) -> tuple[Release, dict, PurePosixPath]:
    spec, keys = _row_keys(layout_, row)
    folder = _format(spec.folder[keys["TELESCOPE"]], layout_, keys, "aspcapStar folder")
    return spec, keys, results_dir(layout_) / folder


def aspcapstar_relpath(layout_: Mapping, row) -> PurePosixPath:
    """Relative SAS path of one allStar row's aspcapStar file.

    DR14 apo1m: the name is the FILE column with ``apStar-<apred>-`` replaced by
    ``aspcapStar-<apred>-<results>-`` (sas_layout.md sec. 3), or the APOGEE_ID form where FILE is
    absent. Raises NoSASPath (UnsafePathComponent, NoSuchTelescope) for a row without a path.
    """
    spec, keys, folder = _folder(layout_, row)
    template = spec.aspcapstar[keys["TELESCOPE"]]
    if template is None:   # DR14 apo1m
        file = _value(row, "FILE")
        apstar = f"apStar-{layout_['apred']}-"
        if file:
            file = safe_component(file, "FILE")
            if not (file.startswith(apstar) and file.endswith(".fits")):
                raise UnsafePathComponent(f"FILE {file!r} is not an {apstar}*.fits name; the row is not fetched or read")
            return folder / file.replace(apstar, f"aspcapStar-{layout_['apred']}-{layout_['results']}-", 1)
        template = "aspcapStar-{apred}-{results}-{APOGEE_ID}.fits"
    return folder / _format(template, layout_, keys, "aspcapStar name")


def checksum_relpath(layout_: Mapping, row) -> PurePosixPath | None:
    """Relative SAS path of the sha1sum list of the row's aspcapStar folder, or None where none is
    known (DR14 apo1m). One line ``<sha1> <file name>`` per file (sas_layout.md sec. 3, astroNN)."""
    spec, keys, folder = _folder(layout_, row)
    template = spec.checksum[keys["TELESCOPE"]]
    return None if template is None else folder / _format(template, layout_, keys, "sha1sum list")


def url(base: str, relpath: PurePosixPath) -> str:
    """Join a SAS base URL (or mirror root) and a relative path."""
    return base.rstrip("/") + "/" + str(relpath)
