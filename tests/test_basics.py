"""The APOGEE grid, SAS paths and atomic writes that every other module relies on."""

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.archives import sas
from spectroparallax.io import atomic
from spectroparallax.spectra import apogee_grid

DR14 = sas.layout("dr14", {"dr14": {"apred": "r8", "aspcap": "l31c", "results": "l31c.2"}})


def test_wavelength_grid_matches_apogee_definition():
    wl = apogee_grid.wavelength()
    assert wl.shape == (8575,)
    assert wl[0] == pytest.approx(10**4.179)
    assert wl[-1] == pytest.approx(10 ** (4.179 + 6e-6 * 8574))
    chip = apogee_grid.chip_of_pixel()
    # Each chip is one contiguous block, in order, separated by gaps.
    for k, (lo, hi) in enumerate(apogee_grid.CHIPS):
        idx = np.flatnonzero(chip == k)
        assert np.all(np.diff(idx) == 1)
        assert wl[idx[0]] >= lo and wl[idx[-1]] <= hi
        assert wl[idx[0] - 1] < lo and wl[idx[-1] + 1] > hi
    assert (chip >= 0).sum() == 7451


def test_continuum_pixel_list_is_the_shipped_dr13_list():
    pix = apogee_grid.continuum_pixels()
    assert pix.size == 2499 and pix.min() >= 0 and pix.max() < apogee_grid.N_PIXELS


def test_sas_paths_follow_dr14_layout():
    rel = sas.aspcapstar_relpath(DR14, {"APOGEE_ID": "2M16333217+3942519 ", "TELESCOPE": "apo25m",
                                         "FIELD": "064+42_MGA", "LOCATION_ID": 4424})
    assert str(rel) == (
        "dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/4424/aspcapStar-r8-l31c.2-2M16333217+3942519.fits"
    )
    assert sas.url("https://data.sdss.org/sas/", sas.allstar_relpath(DR14)) == (
        "https://data.sdss.org/sas/dr14/apogee/spectro/redux/r8/stars/l31c/l31c.2/allStar-l31c.2.fits"
    )


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.fits"
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_bytes(b"half a file")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []

    atomic.write_table(Table({"a": [1, 2]}), target)
    assert Table.read(target)["a"].tolist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["out.fits"]


def test_as_float_turns_masked_and_allstar_missing_into_nan():
    from astropy.table import MaskedColumn

    from spectroparallax.archives.columns import as_float

    col = MaskedColumn([1.5, -9999.0, 3.0], mask=[False, False, True])
    assert np.array_equal(as_float(col), [1.5, np.nan, np.nan], equal_nan=True)
