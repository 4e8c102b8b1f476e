"""Which Gaia data release a run cross-matches to, and that release's Gaia Archive tables.

Owns the rule "gaia.release: null = the APOGEE release's own": HER19 matched APOGEE DR14 to Gaia
DR2 (sec. 4); APOGEE DR16/DR17 allStar files already carry Gaia (E)DR3 source ids, so their
natural partner is DR3 (gaia_archive.md sec. 3: EDR3 and DR3 share source_id and astrometry).
The table names themselves are config gaia.tables.<release> (config.yaml cites their sources);
this module only says which block a run uses.
"""

#: Gaia release per APOGEE release when gaia.release is null (the mock's is its mock.release).
DEFAULT_GAIA_RELEASE = {"dr14": "dr2", "dr16": "dr3", "dr17": "dr3"}
GAIA_RELEASES = ("dr2", "dr3")


def gaia_release(apogee_release: str, override: str | None = None) -> str:
    """The Gaia release (dr2 or dr3) for ``apogee_release`` (dr14, dr16, dr17 or mock).

    ``override`` is config gaia.release: a release wins; None takes :data:`DEFAULT_GAIA_RELEASE`.
    Raises ValueError naming the key for anything else.
    """
    if override is not None:
        if override not in GAIA_RELEASES:
            raise ValueError(f"config.yaml: gaia.release = {override!r}: use null, dr2 or dr3")
        return override
    try:
        return DEFAULT_GAIA_RELEASE[str(apogee_release)]
    except KeyError:
        raise ValueError(f"no default Gaia release for APOGEE release {apogee_release!r}: set gaia.release "
                         "(dr2 or dr3) in config.yaml") from None
