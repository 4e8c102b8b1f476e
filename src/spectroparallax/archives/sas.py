"""Where APOGEE files live in the SDSS Science Archive Server (SAS) directory layout.

The same relative paths are used below the SAS URL (downloads), below a local mirror
(``apogee.sas_root``) and below the mock survey's tree (``resources/mock/sas``), so the code that
reads one reads them all. For DR14 (apred r8, aspcap l31c, results l31c.2)::

    dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/allStar-l31c.2.fits
    dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/<LOCATION_ID>/aspcapStar-r8-l31c.2-<APOGEE_ID>.fits
"""

from collections.abc import Mapping
from pathlib import PurePosixPath


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
    """Relative SAS path of one star's aspcapStar file (one per allStar row)."""
    name = f"aspcapStar-{apogee['apred']}-{apogee['results']}-{str(apogee_id).strip()}.fits"
    return results_dir(apogee) / str(location_id).strip() / name


def url(base: str, relpath: PurePosixPath) -> str:
    """Join a SAS base URL (or mirror root) and a relative path."""
    return base.rstrip("/") + "/" + str(relpath)
