"""The offline mock survey: a simulated APOGEE (DR14, DR16 or DR17) x Gaia DR2 sky in the archives'
formats, built from the fact sheet shared/data/sas_layout.md (never from the readers it tests).

- :func:`simulate_catalog` (fast, arrays only) returns the allStar, Gaia cross-match and truth
  tables;
- :func:`true_normalized_flux` is the noise-free normalized spectrum as a function of labels;
- :func:`write_mock_survey` writes the whole survey (allStar, aspcapStar files and their sha1sum
  lists, VOTable, truth) for one release.
"""

from .catalog import DEFAULT_KNOBS, simulate_catalog
from .spectra import instrument_continuum, true_normalized_flux
from .survey import write_mock_survey

__all__ = ["DEFAULT_KNOBS", "instrument_continuum", "simulate_catalog", "true_normalized_flux",
           "write_mock_survey"]
