"""An independent check of the DR16 and DR17 SAS layouts (archives/sas.py) against the SDSS's own
path templates in the ``sdss-access`` package (sdss-tree's templates; a test dependency only).

sdss-access is not used by the workflow: its DR14 aspcapStar template has an ``{apstar}`` level
that DR14's SAS does not have (shared/data/sas_layout.md sec. 4), and importing it rewrites
``os.environ``, so it runs here in a child process. DR14 is checked against the fact sheet's
hand-typed URLs in tests/test_sas_releases.py instead.
"""

import importlib.util
import json
import subprocess
import sys

import pytest

from spectroparallax.archives import sas
from test_sas_releases import SAS, VERSIONS

pytestmark = pytest.mark.skipif(importlib.util.find_spec("sdss_access") is None,
                                reason="sdss-access not installed (pip install -e '.[test]' installs it)")

ROWS = {
    "dr17": [
        {"APOGEE_ID": "2M19485057+5005279", "TELESCOPE": "apo25m", "FIELD": "K04_083+13"},   # the fact sheet's real star
        {"APOGEE_ID": "2M08514388+1146240", "TELESCOPE": "apo1m", "FIELD": "M67"},
        {"APOGEE_ID": "2M17335483-2753043", "TELESCOPE": "lco25m", "FIELD": "000+02"},
        {"APOGEE_ID": "2M19485057+5005279ABCDEFGHIJKL", "TELESCOPE": "apo25m", "FIELD": "K04_083+13"},   # 30 chars
    ],
    "dr16": [
        {"APOGEE_ID": "2M00000002+7417074", "TELESCOPE": "apo25m", "FIELD": "120+12"},
        {"APOGEE_ID": "2M08514388+1146240", "TELESCOPE": "apo1m", "FIELD": "M67"},
        {"APOGEE_ID": "2M17335483-2753043", "TELESCOPE": "lco25m", "FIELD": "000+02"},
    ],
}

# In a child process: sdss-access's URL of every requested file (allStar, then each row's aspcapStar).
CHILD = """
import json, sys
from sdss_access.path import Path
req = json.load(sys.stdin)
path = Path(release=req["release"])
v = req["versions"]
urls = [path.url("allStar", apred=v["apred"], aspcap=v["aspcap"])]
urls += [path.url("aspcapStar", apred=v["apred"], aspcap=v["aspcap"], telescope=r["TELESCOPE"], field=r["FIELD"],
                  obj=r["APOGEE_ID"]) for r in req["rows"]]
print(json.dumps(urls))
"""


def sdss_access_urls(release: str, rows: list) -> list:
    out = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(
        {"release": release, "versions": VERSIONS[release], "rows": rows}), capture_output=True, text=True,
        timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("release", ["dr16", "dr17"])
def test_the_project_builds_the_same_urls_as_sdss_access(release):
    layout = sas.layout(release, VERSIONS)
    ours = [sas.url(SAS, sas.allstar_relpath(layout))]
    ours += [sas.url(SAS, sas.aspcapstar_relpath(layout, row)) for row in ROWS[release]]
    assert ours == sdss_access_urls(release, ROWS[release])
