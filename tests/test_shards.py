import numpy as np
import pytest

from spectroparallax.io.shards import part


@pytest.mark.parametrize("n, parts", [(10, 3), (7, 7), (3, 5), (0, 2), (45000, 8)])
def test_parts_cover_every_item_once(n, parts):
    joined = np.concatenate([part(n, parts, k) for k in range(parts)])
    assert np.array_equal(joined, np.arange(n))
    sizes = [part(n, parts, k).size for k in range(parts)]
    assert max(sizes) - min(sizes) <= 1


def test_bad_part_index():
    with pytest.raises(ValueError):
        part(10, 3, 3)
