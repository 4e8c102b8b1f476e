"""The mock's own SAS directory layout for APOGEE DR14, DR16 and DR17.

Written from the fact sheet shared/data/sas_layout.md (sections 1-3), not from the project's
readers (spectroparallax.archives), which the mock exists to test. Paths are relative to the SAS
root (``<out_dir>/sas`` in the mock). What this module owns:

- :func:`check_versions`: the version strings each release needs (sec. 1);
- :func:`allstar_relpath`: the allStar file and its Lite version (sec. 2);
- :func:`aspcapstar_relpath`: one star's aspcapStar file per release and telescope (sec. 3);
- :func:`sha1sum_name`: the checksum list of an aspcapStar folder (sec. 3).
"""

from pathlib import PurePosixPath

#: Releases and the version keys each needs (sas_layout.md sec. 1): DR16/DR17 have no results level.
RELEASE_VERSIONS = {"dr14": ("apred", "aspcap", "results"), "dr16": ("apred", "aspcap"),
                    "dr17": ("apred", "aspcap")}
#: Telescopes with data in each release (sec. 3: LCO data appear first in DR16).
TELESCOPES = {"dr14": ("apo25m", "apo1m"), "dr16": ("apo25m", "apo1m", "lco25m"),
              "dr17": ("apo25m", "apo1m", "lco25m")}
#: The DR14 apStar directory level (sec. 1, "APSTAR dir").
APSTAR_DIR = "stars"
#: DR17's results revision suffix; the apo25m/apo1m checksum lists still carry the old name (sec. 1, 3).
DR17_REVISION = "_rev1"


def check_versions(release, versions):
    """Return ``versions`` reduced to the keys ``release`` uses; one clear error otherwise."""
    if release not in RELEASE_VERSIONS:
        raise ValueError(f"mock release {release!r} is not one of {sorted(RELEASE_VERSIONS)}")
    need = RELEASE_VERSIONS[release]
    missing = [key for key in need if not versions.get(key)]
    if missing:
        raise ValueError(f"mock release {release}: versions lack {missing}; give {list(need)} "
                         "(e.g. dr14 apred r8, aspcap l31c, results l31c.2; dr17 apred dr17, aspcap synspec_rev1)")
    extra = sorted(key for key, value in versions.items() if key not in need and value is not None)
    if extra:
        raise ValueError(f"mock release {release} has no {extra} level in its SAS layout "
                         f"(sas_layout.md sec. 1); give only {list(need)}")
    return {key: str(versions[key]) for key in need}


def _aspcap_root(release, v):
    if release == "dr14":
        return PurePosixPath("dr14/apogee/spectro/redux", v["apred"], APSTAR_DIR, v["aspcap"], v["results"])
    return PurePosixPath(release, "apogee/spectro/aspcap", v["apred"], v["aspcap"])


def allstar_relpath(release, versions, lite=False):
    """The allStar file (``lite``: allStarLite, DR16/DR17 only, same folder)."""
    v = check_versions(release, versions)
    if release == "dr14":
        if lite:
            raise ValueError("DR14 has no allStarLite file (sas_layout.md sec. 2); set lite=False")
        return _aspcap_root(release, v) / f"allStar-{v['results']}.fits"
    stem = "allStarLite" if lite else "allStar"
    return _aspcap_root(release, v) / f"{stem}-{v['apred']}-{v['aspcap']}.fits"


def aspcapstar_folder(release, versions, telescope, field, location_id):
    """The folder of a star's aspcapStar file: DR14 <LOCATION_ID>/ (apo1m: <FIELD>/), DR16/DR17
    <TELESCOPE>/<FIELD>/ (FIELD used literally, '+' and '-' included)."""
    v = check_versions(release, versions)
    if telescope not in TELESCOPES[release]:
        raise ValueError(f"{release} has no {telescope} data (sas_layout.md sec. 3); "
                         f"telescopes: {TELESCOPES[release]}")
    root = _aspcap_root(release, v)
    if release == "dr14":
        return root / (str(field) if telescope == "apo1m" else str(int(location_id)))
    return root / telescope / str(field)


def aspcapstar_relpath(release, versions, telescope, field, location_id, apogee_id, file=None):
    """One allStar row's aspcapStar file.

    DR14 apo25m: ``<LOCATION_ID>/aspcapStar-<apred>-<results>-<ID>.fits``; DR14 apo1m: under
    ``<FIELD>/``, its name from the FILE column (``apStar-<apred>-`` -> ``aspcapStar-<apred>-<results>-``,
    the robust rule of sec. 3); DR16/DR17: ``<TELESCOPE>/<FIELD>/aspcapStar-<apred>-<ID>.fits``.
    """
    v = check_versions(release, versions)
    folder = aspcapstar_folder(release, v, telescope, field, location_id)
    if release != "dr14":
        return folder / f"aspcapStar-{v['apred']}-{apogee_id}.fits"
    if telescope == "apo1m":
        prefix = f"apStar-{v['apred']}-"
        if file is None or not str(file).startswith(prefix):
            raise ValueError(f"DR14 apo1m star {apogee_id}: FILE {file!r} does not start with {prefix!r}")
        return folder / str(file).replace(prefix, f"aspcapStar-{v['apred']}-{v['results']}-", 1)
    return folder / f"aspcapStar-{v['apred']}-{v['results']}-{apogee_id}.fits"


def sha1sum_name(release, versions, telescope, field, location_id):
    """Name of the checksum list in an aspcapStar folder ([NN] in sas_layout.md sec. 3).

    DR14 ``stars_<aspcap>_<results>_<LOCATION_ID>.sha1sum`` (an apo1m folder: its FIELD, the folder's
    name); DR16 ``<apred>_<aspcap>_<TELESCOPE>_<FIELD>.sha1sum``; DR17 the same, except that apo25m
    and apo1m lists keep the pre-revision name (``synspec``, not ``synspec_rev1``).
    """
    v = check_versions(release, versions)
    folder = aspcapstar_folder(release, v, telescope, field, location_id).name
    if release == "dr14":
        return f"{APSTAR_DIR}_{v['aspcap']}_{v['results']}_{folder}.sha1sum"
    aspcap = v["aspcap"]
    if release == "dr17" and telescope != "lco25m" and aspcap.endswith(DR17_REVISION):
        aspcap = aspcap[: -len(DR17_REVISION)]
    return f"{v['apred']}_{aspcap}_{telescope}_{folder}.sha1sum"
