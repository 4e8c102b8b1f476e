"""The mock's SAS tree (mock/sas_tree.py, written from the fact sheet) against the project's path
builder (archives/sas.py, written from the same fact sheet by other hands), star by star, for every
release: every file the mock wrote is where the readers look, and every checksum list too.

Neither side borrows the other's code, so agreement here is two independent readings of
shared/data/sas_layout.md; test_mock_releases.py and test_sas_releases.py check each against
hand-written paths.
"""

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.archives import sas
from spectroparallax.mock import write_mock_survey
from test_sas_releases import VERSIONS


@pytest.mark.parametrize("release", ["dr14", "dr16", "dr17"])
def test_every_mock_file_is_where_the_readers_look(release, tmp_path):
    paths = write_mock_survey(tmp_path, release, VERSIONS[release], 300, 11, apo1m_fraction=0.03,
                              missing_spectrum_fraction=0.02)
    root = Path(paths["sas"])
    allstar = Table.read(paths["allstar"], hdu=1)
    truth = Table.read(paths["truth"])
    layout = sas.layout(release, VERSIONS)
    written = {str(p.relative_to(root)) for p in root.rglob("aspcapStar-*.fits")}
    has_file = np.isin(np.asarray(truth["spectrum_status"], str), ["ok", "unreadable"])
    wanted = {str(sas.aspcapstar_relpath(layout, row)) for row, ok in zip(allstar, has_file) if ok}
    assert written == wanted and len(written) > 250
    telescopes = set(np.char.strip(np.asarray(allstar["TELESCOPE"], str)).tolist())
    assert "apo1m" in telescopes and ("lco25m" in telescopes) == (release != "dr14")
    lists = {str(p.relative_to(root)) for p in root.rglob("*.sha1sum")}
    expected_lists = {str(rel) for rel in (sas.checksum_relpath(layout, row) for row, ok in zip(allstar, has_file)
                                           if ok) if rel is not None}
    assert expected_lists <= lists and expected_lists
