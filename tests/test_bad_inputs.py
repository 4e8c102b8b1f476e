"""Issue 15: inputs that are malformed, stale or empty stop the workflow with one clear line and
leave nothing half-written behind (package entry points here; the workflow itself further down)."""

import os

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.archives import gaia_query
from spectroparallax.archives.columns import GAIA_COLUMNS
from spectroparallax.io.errors import InputFileError


def _chunk(path, n=3):
    table = Table({name: np.zeros(n, dtype=spec[0]) for name, spec in GAIA_COLUMNS.items()})
    table["tmass_designation"] = [f"{i:08d}+0000000" for i in range(n)]
    gaia_query.write_chunk(table, path, "-- test")
    return table


@pytest.mark.parametrize("damage", ["truncate", "html", "no_columns"])
def test_a_malformed_gaia_chunk_is_named_and_set_aside(tmp_path, damage):
    good, bad = tmp_path / "chunk_0.fits", tmp_path / "chunk_1.fits"
    _chunk(good)
    _chunk(bad)
    if damage == "truncate":
        os.truncate(bad, bad.stat().st_size - 2880)
    elif damage == "html":
        bad.write_text("<html><body>Error 500: null</body></html>")
    else:
        Table({"x": [1]}).write(bad, overwrite=True)
    with pytest.raises(InputFileError) as info:
        gaia_query.read_chunks([good, bad])
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{bad}: select_samples: Gaia chunk unreadable")
    assert "moved aside to chunk_1.fits.bad" in msg and msg.endswith("queries this chunk again")
    # The bad chunk and its ADQL are gone from Snakemake's view (so gaia_chunk 1 runs again); the good one stays.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunk_0.adql", "chunk_0.fits", "chunk_1.adql.bad",
                                                          "chunk_1.fits.bad"]


def test_empty_chunks_read_as_an_empty_table_with_every_column(tmp_path):
    _chunk(tmp_path / "chunk_0.fits", n=0)
    _chunk(tmp_path / "chunk_1.fits", n=2)
    assert len(gaia_query.read_chunks([tmp_path / "chunk_0.fits", tmp_path / "chunk_1.fits"])) == 2
    empty = gaia_query.read_chunks([tmp_path / "chunk_0.fits"])
    assert len(empty) == 0 and empty.colnames == list(GAIA_COLUMNS)
