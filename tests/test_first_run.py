"""What a new user meets on a first run: the numba compilation is announced and cached, and the
console carries no expected-and-harmless astropy warnings."""

import json
import os
import re
import subprocess
import sys

NORMALIZE_ONCE = """
import json, os, numpy as np
from spectroparallax.spectra import apogee_grid, normalize, normalize_kernels as k
f = np.ones((2, apogee_grid.N_PIXELS), np.float32)
normalize.normalize(f, f * 0.01, degree=2, max_normalized_error=0.3, bad_pixel_error=1e10,
                    min_continuum_pixels=20, grow=2)
path = k.fit_weights.stats.cache_path
print(json.dumps({name: [sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())]
                  for name, d in (("fit_weights", k.fit_weights), ("divide", k.divide))}
                 | {"cache_path": path, "writable": os.access(path, os.W_OK)}))
"""


def _normalize_in_fresh_process(env=None):
    out = subprocess.run([sys.executable, "-c", NORMALIZE_ONCE], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1]), out.stderr


def test_kernels_compile_once_then_load_from_the_cache():
    _normalize_in_fresh_process()          # compiles, unless an earlier run left the cache
    stats, stderr = _normalize_in_fresh_process()
    # the second fresh process loads both kernels from disk and compiles nothing, silently
    assert stats["fit_weights"][0] >= 1 and stats["divide"][0] >= 1, stats
    assert stats["fit_weights"][1] == 0 and stats["divide"][1] == 0, stats
    assert "compiling the normalization kernels" not in stderr
    # the cache sits beside the installed package, and this install can write it
    assert stats["writable"] and stats["cache_path"].endswith(os.path.join("spectroparallax", "spectra", "__pycache__"))


def test_compilation_is_announced_when_the_cache_is_empty(tmp_path):
    """normalize() says so before compiling, once per process. An empty NUMBA_CACHE_DIR stands
    for a first run; a bad option stops each call right after the announcement, before numba
    compiles anything."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    code = ("import numpy as np\n"
            "from spectroparallax.spectra import normalize\n"
            "for _ in range(2):\n"
            "    try:\n"
            "        normalize.normalize(np.ones(8575, np.float32), np.ones(8575, np.float32), degree=-1,\n"
            "                            max_normalized_error=0.3, bad_pixel_error=1e10, min_continuum_pixels=20, grow=2)\n"
            "    except ValueError:\n"
            "        pass\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("compiling the normalization kernels (numba), ~1 min the first time") == 1


def test_mock_run_console_has_no_astropy_warnings(mock_run):
    """The console of the mock run (conftest's mock_run keeps it in console.txt): none of the
    astropy warnings that every run used to print, and the deliberately corrupt and missing mock
    spectra explained."""
    work, _ = mock_run
    console = (work / "console.txt").read_text()
    assert "steps (100%) done" in console
    assert not re.findall(r".*(?:\[astropy\.|AstropyUserWarning|VerifyWarning|UnitsWarning).*", console)
    assert re.search(r"1 spectrum file\(s\) unreadable, \d+ missing, \d+ refused .*counted in the cut-flow as 'no readable "
                     r"spectrum' and the run goes on \(on the mock survey by design", console)


def test_truncated_spectrum_is_reported_without_astropy_warnings(tmp_path):
    """check_aspcapstar returns why a file is incomplete; astropy's own warnings about it (a header
    cut short, data cut short) would only repeat that on the console."""
    import warnings

    import numpy as np

    from spectroparallax.archives.download import check_aspcapstar
    from spectroparallax.mock.writers import write_aspcapstar
    from spectroparallax.spectra.apogee_grid import N_PIXELS

    path = tmp_path / "aspcapStar.fits"
    for cut in ("header", "data"):
        write_aspcapstar(path, "2M00000000+0000000", np.ones(N_PIXELS), np.ones(N_PIXELS))
        # inside HDU 1's header (the mock's corrupt file); inside the last HDU's data
        os.truncate(path, 4000 if cut == "header" else path.stat().st_size - 2880)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert check_aspcapstar(path) is not None
