"""The comparison with the published catalog: download (loopback server), join, figure, and the rules.

The published catalog is the real file (tests/data/data_HoggEilersRix2018.fits, a copy of Zenodo
record 1468053); "ours" is fabricated from it with known perturbations, so the join and the
comparison statistics have known answers.
"""

import re
import socket
import subprocess
import sys

import numpy as np
import pytest
import yaml
from astropy.table import Table, vstack
from localservers import SASServer
from matplotlib.image import imread

from spectroparallax.catalog import published
from spectroparallax.figures import common
from spectroparallax.archives.download import RemoteFileMissing
from spectroparallax.io.errors import ArchiveError, ArchiveUnreachable, InputFileError, MissingColumnError

from test_cli import PUBLISHED, half_16_84

NAME = PUBLISHED.name
FAST = {"backoff": 0.0, "timeout": 10.0}


@pytest.fixture
def checks(config):
    """The MD5 and size of the published file, as config.yaml gives them."""
    return {"md5": config["published"]["md5"], "size": config["published"]["size"]}


def test_config_checks_match_the_shipped_copy(checks):
    assert checks["md5"] == published.md5sum(PUBLISHED)
    assert checks["size"] == PUBLISHED.stat().st_size
    assert published.check_published(PUBLISHED, **checks) is None


def test_download_from_a_loopback_server(tmp_path, checks):
    with SASServer(PUBLISHED.parent) as srv:
        dest = published.download_published(f"{srv.url}/{NAME}", tmp_path / "resources" / NAME, **checks, **FAST)
    assert dest.read_bytes() == PUBLISHED.read_bytes()
    assert sorted(p.name for p in dest.parent.iterdir()) == [NAME]     # no .part left


def test_download_resumes_after_a_dropped_connection(tmp_path, checks):
    with SASServer(PUBLISHED.parent) as srv:
        srv.faults[f"/{NAME}"] = ["drop"]
        dest = published.download_published(f"{srv.url}/{NAME}", tmp_path / NAME, **checks, **FAST)
        gets = srv.gets(f"/{NAME}")
    assert dest.read_bytes() == PUBLISHED.read_bytes()
    assert [g["fault"] for g in gets] == ["drop", None]
    assert gets[1]["range"] is not None and gets[1]["range"] != "bytes=0-"    # resumed, not restarted


def test_a_corrupt_download_is_fetched_again_then_reported(tmp_path, checks):
    url_path = f"/{NAME}"
    with SASServer(PUBLISHED.parent) as srv:
        srv.faults[url_path] = ["corrupt"]          # right length, wrong bytes: only the MD5 sees it
        dest = published.download_published(f"{srv.url}/{NAME}", tmp_path / NAME, **checks, **FAST)
        assert dest.read_bytes() == PUBLISHED.read_bytes()
        srv.faults[url_path] = ["corrupt"] * 3
        with pytest.raises(ArchiveError) as info:
            published.download_published(f"{srv.url}/{NAME}", tmp_path / "again" / NAME, retries=2, **checks, **FAST)
    message = str(info.value)
    assert message.startswith("Zenodo: ") and "MD5" in message and "\n" not in message
    assert not (tmp_path / "again" / NAME).exists()


def test_missing_file_and_unreachable_host_are_one_line_naming_zenodo(tmp_path):
    with SASServer(PUBLISHED.parent) as srv:
        with pytest.raises(RemoteFileMissing) as info:
            published.download_published(f"{srv.url}/nosuch.fits", tmp_path / NAME, **FAST)
    assert str(info.value).startswith("Zenodo: HTTP 404")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{NAME}"      # nothing listens there
    with pytest.raises(ArchiveUnreachable) as info:
        published.download_published(url, tmp_path / NAME, retries=1, **FAST)
    message = str(info.value)
    assert message.startswith("Zenodo: host unreachable") and url in message and "published.url" in message
    assert "\n" not in message and not list(tmp_path.iterdir())


def test_read_catalog_names_what_is_wrong(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        published.read_catalog(tmp_path / "nope.fits")
    Table({"2MASS_ID": ["2M1"], "spec_parallax": [1.0]}).write(tmp_path / "few.ecsv")
    with pytest.raises(MissingColumnError) as info:
        published.read_catalog(tmp_path / "few.ecsv", published.CATALOG_COLUMNS)
    assert info.value.missing == ["Gaia_parallax", "Gaia_parallax_err", "spec_parallax_err", "training_set", "sample"]


DROPPED, EXTRA, OFFSET_SHIFT = 4000, 50, -0.019


def fabricate_ours(seed=3):
    """Our catalog made from the published one: 4000 stars dropped, rows shuffled, spec_parallax times
    (1 + d) with d ~ N(0.02, 0.05), Gaia_parallax with offset 0.029 instead of 0.048, 50 stars of our own.
    Returns (ours, d by 2MASS_ID)."""
    rng = np.random.default_rng(seed)
    theirs = Table.read(PUBLISHED)
    ours = theirs[rng.permutation(len(theirs))[DROPPED:]]
    d = rng.normal(0.02, 0.05, len(ours))
    ours["spec_parallax"] = ours["spec_parallax"] * (1 + d)
    ours["Gaia_parallax"] = ours["Gaia_parallax"] + OFFSET_SHIFT
    extra = ours[:EXTRA].copy()
    extra["2MASS_ID"] = [f"2M99999999+00000{i:02d}" for i in range(EXTRA)]
    ours = vstack([ours, extra])
    ours["2MASS_ID"] = np.char.strip(np.asarray(ours["2MASS_ID"], dtype=str))
    return ours, dict(zip(ours["2MASS_ID"][:-EXTRA], d, strict=True))


@pytest.fixture(scope="module")
def fabricated():
    ours, d = fabricate_ours()
    theirs = Table.read(PUBLISHED)
    return ours, theirs, d, published.join_catalogs(ours, theirs)


def test_join_matches_every_star_to_itself(fabricated):
    ours, theirs, d, joined = fabricated
    assert len(joined) == len(theirs) - DROPPED == len(d)
    assert joined.meta["N_OURS"] == len(theirs) - DROPPED + EXTRA and joined.meta["N_PUBL"] == len(theirs)
    assert set(joined["2MASS_ID"]) == set(d)
    expected = np.array([d[i] for i in joined["2MASS_ID"]])
    ratio = np.asarray(joined["spec_parallax_ours"]) / np.asarray(joined["spec_parallax_published"]) - 1
    assert ratio == pytest.approx(expected, abs=1e-12)
    assert joined["spec_parallax_ours"].unit == "mas" and "published" in joined["spec_parallax_published"].description
    assert list(joined["sample_ours"]) == list(joined["sample_published"])


def test_comparison_stats_recover_the_perturbation(fabricated):
    _, _, d, joined = fabricated
    result = published.comparison_stats(joined)
    values = np.array(list(d.values()))
    assert result["n_matched"] == result["n_compared"] == len(values)
    assert result["scatter"] == pytest.approx(half_16_84(values), rel=1e-9)
    assert result["bias"] == pytest.approx(np.median(values), rel=1e-9)
    assert result["gaia_difference"] == pytest.approx(OFFSET_SHIFT, abs=1e-12)
    assert result["scatter"] == pytest.approx(0.05, rel=0.03) and result["bias"] == pytest.approx(0.02, abs=0.002)


def test_join_refuses_a_repeated_id():
    theirs = Table.read(PUBLISHED)[:10]
    ours = vstack([theirs, theirs[3:4]])
    with pytest.raises(ValueError, match=re.escape(f"ours catalog: 2MASS_ID {theirs['2MASS_ID'][3].strip()} appears 2 times")):
        published.join_catalogs(ours, theirs)


def test_comparison_figure_says_what_it_shows(fabricated, tmp_path):
    _, _, _, joined = fabricated
    result = published.comparison_stats(joined)
    fig = published.comparison_figure(joined, result, plot_range=(-0.35, 2.0))
    left, right = fig.axes
    assert "[mas]" in left.get_xlabel() and "[mas]" in left.get_ylabel() and "published" in left.get_xlabel()
    assert left.get_xlim() == (-0.35, 2.0) and left.get_ylim() == (-0.35, 2.0)
    legend = [t.get_text() for t in left.get_legend().get_texts()]
    assert legend == [f"stars in both catalogs (N = {len(joined)})", "1:1"]
    text = " ".join(t.get_text() for t in left.texts)
    assert f"robust scatter {100 * result['scatter']:.2f}%" in text and f"median bias {100 * result['bias']:+.2f}%" in text
    assert right.get_xlabel().startswith("(this run - published) / published") and right.get_ylabel()
    assert str(len(joined)) in fig._suptitle.get_text()
    common.save(fig, tmp_path / "c.pdf", tmp_path / "c.png", dpi=150)
    assert (tmp_path / "c.pdf").read_bytes()[:5] == b"%PDF-"
    assert imread(tmp_path / "c.png").shape[:2] == (750, 1650)


def snakemake(repo, workdir, *args):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), *args]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)


def write_config(config, workdir, **changes):
    cfg = yaml.safe_load(yaml.safe_dump(config))
    cfg.update(changes)
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    return cfg


def test_rules_download_join_and_plot_on_dr14(repo, config, tmp_path):
    """The three rules on survey dr14, with our catalog in place and the published one served locally."""
    ours, d = fabricate_ours()
    (tmp_path / "results/dr14/catalog").mkdir(parents=True)
    ours.write(tmp_path / "results/dr14/catalog/spectrophotometric_parallaxes.fits")
    with SASServer(PUBLISHED.parent) as srv:
        write_config(config, tmp_path, survey="dr14", published={**config["published"], "url": f"{srv.url}/{NAME}"})
        out = snakemake(repo, tmp_path, "--cores", "1", "results/dr14/figures/published_comparison.pdf")
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert len(srv.gets(f"/{NAME}")) == 1
    assert (tmp_path / "resources/published" / NAME).read_bytes() == PUBLISHED.read_bytes()
    result = yaml.safe_load((tmp_path / "results/dr14/published/comparison.json").read_text())
    values = np.array(list(d.values()))
    assert result["n_matched"] == len(values) and result["n_ours"] == len(ours)
    assert result["scatter"] == pytest.approx(half_16_84(values), rel=1e-9)
    for ext in ("pdf", "png"):
        assert (tmp_path / f"results/dr14/figures/published_comparison.{ext}").stat().st_size > 10_000


def test_rules_stop_on_the_mock_with_a_clear_message(repo, config, tmp_path):
    write_config(config, tmp_path, survey="mock")
    out = snakemake(repo, tmp_path, "-n", "published_comparison")
    assert out.returncode != 0
    message = out.stdout + out.stderr
    assert "the comparison with the published catalog" in message and "needs survey=dr14" in message, message
    # ... the default target never asks for it there, and PUBLISHED_FIGURES (the lead's list for the
    # `figures` rule) is empty: a Snakefile including ours prints it.
    probe = tmp_path / "Snakefile"
    probe.write_text(f'include: "{repo / "Snakefile"}"\n\nprint("PUBLISHED_FIGURES =", PUBLISHED_FIGURES)\n')
    out = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(probe), "--directory", str(tmp_path),
                          "--configfile", str(tmp_path / "config.yaml"), "-n", "all"],
                         cwd=repo, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "PUBLISHED_FIGURES = []" in out.stdout
    jobs = set(out.stdout.split())
    assert "catalog" in jobs and not {"download_published", "join_published", "published_comparison"} & jobs
