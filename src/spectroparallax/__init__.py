"""Spectrophotometric parallaxes for luminous red giants (Hogg, Eilers & Rix 2019).

The science lives here as plain functions on arrays and astropy Tables; the Snakemake rules in
``workflow/`` only read inputs, call these functions and write outputs.
"""

__version__ = "0.1.0"
