"""The design matrix written chunk by chunk from the normalized shards, and the row writer it uses."""

import numpy as np
import pytest
from astropy.table import Table

from spectroparallax.sample import features
from spectroparallax.spectra import apogee_grid
from spectroparallax.io.npy_rows import npy_row_writer, read_npy_rows

CLIP, LN_ERR_MAX = (0.01, 1.2), 0.1


def _parent(ids, locs, rng):
    table = Table({"APOGEE_ID": ids, "TELESCOPE": np.full(len(ids), "apo25m"), "FIELD": [f"F{loc}" for loc in locs]})
    for column in features.photometry_columns():  # magnitudes, errors and fluxes, all positive
        table[column] = rng.uniform(0.01, 14.0, len(ids))
    return table


@pytest.fixture()
def shards(tmp_path):
    """Three shards of normalized spectra on disk, and a parent sample drawn across them."""
    rng = np.random.default_rng(3)
    sizes = (7, 5, 9)
    stars, flux, err = [], [], []
    for k, n in enumerate(sizes):
        f = rng.uniform(0.3, 1.1, (n, apogee_grid.N_PIXELS)).astype(np.float32)
        e = rng.uniform(0.005, 0.05, f.shape).astype(np.float32)
        e[:, :50] = 1e3  # masked pixels
        np.save(tmp_path / f"flux_{k}.npy", f)
        np.save(tmp_path / f"err_{k}.npy", e)
        stars.append(Table({"APOGEE_ID": [f"2M{k}{i:07d}" for i in range(n)], "TELESCOPE": np.full(n, "apo25m"),
                            "FIELD": np.full(n, f"F{4000 + k}")}))
        flux.append(f)
        err.append(e)
    # Parent: a shuffled subset of the normalized stars (as the cuts and allStar order leave it).
    everyone = [(k, i) for k, n in enumerate(sizes) for i in range(n)]
    chosen = [everyone[j] for j in rng.permutation(len(everyone))[:15]]
    parent = _parent([f"2M{k}{i:07d}" for k, i in chosen], [4000 + k for k, _ in chosen], rng)
    pixels = np.sort(rng.choice(apogee_grid.N_PIXELS, 40, replace=False))
    expected = features.design_matrix(
        parent, np.array([flux[k][i, pixels] for k, i in chosen]), np.array([err[k][i, pixels] for k, i in chosen]),
        CLIP, LN_ERR_MAX,
    )
    files = [(tmp_path / f"flux_{k}.npy", tmp_path / f"err_{k}.npy") for k in range(len(sizes))]
    return parent, stars, files, pixels, expected


@pytest.mark.parametrize("chunk_rows", [1, 4, 1000])
def test_written_design_matrix_equals_the_in_memory_one(shards, tmp_path, chunk_rows):
    parent, stars, files, pixels, (X, X_err) = shards
    out = tmp_path / f"out{chunk_rows}"
    shape = features.write_design_matrix(parent, stars, files, pixels, out / "X.npy", out / "X_err.npy",
                                         clip=CLIP, ln_err_max=LN_ERR_MAX, chunk_rows=chunk_rows)
    assert shape == X.shape == (15, 9 + 40)
    np.testing.assert_array_equal(np.load(out / "X.npy", mmap_mode="r"), X)
    np.testing.assert_array_equal(np.load(out / "X_err.npy", mmap_mode="r"), X_err)
    assert sorted(p.name for p in out.iterdir()) == ["X.npy", "X_err.npy"]


def test_a_parent_star_without_a_spectrum_is_named(shards, tmp_path):
    parent, stars, files, pixels, _ = shards
    parent["APOGEE_ID"][3] = "2M_MISSING"
    with pytest.raises(ValueError, match="2M_MISSING"):
        features.write_design_matrix(parent, stars, files, pixels, tmp_path / "X.npy", tmp_path / "X_err.npy",
                                     clip=CLIP, ln_err_max=LN_ERR_MAX)
    assert not (tmp_path / "X.npy").exists()


def test_row_writer_writes_a_loadable_file_only_when_complete(tmp_path):
    rows = np.arange(12, dtype=np.float32).reshape(4, 3)
    with npy_row_writer(tmp_path / "a.npy", (4, 3)) as out:
        out.write(rows[:1])
        out.write(rows[1:])
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), rows)
    with pytest.raises(ValueError, match="3 rows written, 4 declared"):
        with npy_row_writer(tmp_path / "b.npy", (4, 3)) as out:
            out.write(rows[:3])
    with pytest.raises(ValueError, match="do not fit"):
        with npy_row_writer(tmp_path / "c.npy", (4, 3)) as out:
            out.write(rows.astype(np.float64))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]


def test_rows_are_read_in_any_order_with_repeats(tmp_path):
    a = np.arange(40, dtype=np.float32).reshape(10, 4)
    np.save(tmp_path / "a.npy", a)
    rows = [7, 2, 3, 3, 9, 0, 4]
    np.testing.assert_array_equal(read_npy_rows(tmp_path / "a.npy", rows), a[rows])
    assert read_npy_rows(tmp_path / "a.npy", []).shape == (0, 4)
    with pytest.raises(IndexError, match="rows outside"):
        read_npy_rows(tmp_path / "a.npy", [10])
