"""Writers of the mock survey's files in the archives' own formats (all writes atomic).

allStar (and allStarLite) FITS tables, aspcapStar files laid out as sas_layout.md sec. 5 says the
real ones are, their folders' sha1sum lists, the Gaia VOTable and the truth table.
"""

import hashlib
import io
from functools import lru_cache

import numpy as np
from astropy.io import fits

from spectroparallax.io import atomic

from . import spectra


def _fits_units(table):
    """A copy of ``table`` without the units FITS cannot store (dex): those stay descriptive only."""
    out = table.copy(copy_data=False)
    for col in out.itercols():
        if col.unit is not None:
            try:
                col.unit.to_string("fits")
            except ValueError:
                col.unit = None
    return out


def write_allstar(allstar, path):
    """Write the allStar (or allStarLite) table as a FITS binary table in HDU 1, as the SAS file is."""
    atomic.write_table(_fits_units(allstar), path, format="fits")


class AllStarRecords:
    """The allStar rows as aspcapStar HDU 4 ("the star's ASPCAP record"), made cheaply.

    astropy builds a binary-table HDU in ~30 ms; every star's one-row table has the same header
    (one row, the allStar's columns), so it is serialized once and each star's HDU is that header
    plus its row's bytes, zero-padded to the FITS block, exactly what astropy writes.
    """

    def __init__(self, allstar):
        hdu = fits.BinTableHDU(fits.table_to_hdu(_fits_units(allstar)).data, name="ASPCAP")
        buf = io.BytesIO()
        hdu.writeto(buf)
        raw = buf.getvalue()
        header = hdu.header.copy()
        self.width = header["NAXIS1"]
        n_bytes = self.width * header["NAXIS2"]
        self._data_start = len(raw) - n_bytes - (-n_bytes % 2880)   # after the primary and this header
        header["NAXIS2"] = 1
        self._header = header.tostring().encode("ascii")
        self._raw = raw
        self.records = hdu.data
        # The DR14 primary header's columns, read once: a FITS_rec row lookup per star is slow.
        self.columns = {column: self.records[column] for column in DR14_PRIMARY_KEYS.values()
                        if column in self.records.names}

    def hdu_bytes(self, i):
        """The bytes of row ``i``'s one-row binary-table HDU."""
        row = self._raw[self._data_start + i * self.width:self._data_start + (i + 1) * self.width]
        return self._header + row + b"\0" * (-len(row) % 2880)


def write_truth(truth, path):
    """Write the truth table (one row per allStar row) as FITS."""
    atomic.write_table(truth, path, format="fits")


#: Keys of every spectrum HDU (1-3) of an aspcapStar file (sas_layout.md sec. 5): the 8575-pixel grid.
def _spectrum_header():
    h = fits.Header()
    h["CRVAL1"] = (spectra.LOG10_LAMBDA_START, "log10(lambda/A) of the first pixel")
    h["CDELT1"] = (spectra.LOG10_LAMBDA_STEP, "log10(lambda/A) step per pixel")
    h["CRPIX1"] = (1, "reference pixel")
    h["CTYPE1"] = ("LOG-LINEAR", "log10(lambda) linear in pixel")
    h["DC-FLAG"] = (1, "wavelength is log10")
    return h


_HEADER = _spectrum_header()
#: The DR14 (IDL ASPCAP) primary header's keys and the allStar columns they come from (sec. 5).
DR14_PRIMARY_KEYS = {"OBJ": "APOGEE_ID", "RA": "RA", "DEC": "DEC", "J": "J", "H": "H", "K": "K",
                     "LOCID": "LOCATION_ID", "FIELD": "FIELD", "SNR": "SNR", "VHELIO": "VHELIO_AVG"}


def primary_header(release, record, version):
    """HDU 0 of an aspcapStar file: DR14 the IDL writer's star keys (:data:`DR14_PRIMARY_KEYS`, from
    the star's allStar ``record``); DR16/DR17 the python writer's ``VERSION`` (here ``version``,
    the ASPCAP version string)."""
    h = fits.Header()
    if release == "dr14":
        for key, column in DR14_PRIMARY_KEYS.items():
            value = record[column]
            h[key] = value.strip() if isinstance(value, str) else value.item()
    else:
        h["VERSION"] = (str(version), "ASPCAP version")
    return h


def aspcapstar_hdulist(apogee_id, flux, error, *, model=None, record=None, release="dr14", version=""):
    """aspcapStar HDUList as the real files are laid out (sas_layout.md sec. 5).

    0: header only (:func:`primary_header`; without ``record`` DR14 gets only ``OBJ``); 1: flux;
    2: its 1-sigma error; 3: a model spectrum (``model``, zeros if None); 4: a binary table, the
    star's ASPCAP record (``record``, a one-row FITS_rec or Table; if None, APOGEE_ID only). HDUs 1-3
    are float32, float64 for DR17 (its python writer's dtype), with the grid keys CRVAL1 4.179,
    CDELT1 6e-6, CRPIX1 1, CTYPE1 LOG-LINEAR, DC-FLAG 1; pixels without data hold 0 in all three.

    HDU 1 differs from the archive's on purpose: a real aspcapStar holds ASPCAP's pseudo-continuum-
    normalized flux, while the mock's still carries its instrument continuum (level x tilt x blaze x
    spline, :func:`spectra.instrument_continuum`), because the project normalizes every spectrum
    itself as HER19 sec. 4 does and its truth tests (tests/test_normalize_truth.py) check that
    normalization against the continuum the mock put in. Hence no BUNIT either.
    """
    first = _primary_and_spectra(apogee_id, flux, error, model, None if record is None else record[0], release,
                                 version)
    if record is None:     # no allStar row given: the record holds the star's name only
        record = fits.BinTableHDU.from_columns([fits.Column("APOGEE_ID", "30A", array=[str(apogee_id)])]).data
    return fits.HDUList([*first, fits.BinTableHDU(record, name="ASPCAP")])


def _primary(apogee_id, record, release, version):
    if release != "dr14" or record is not None:
        return fits.PrimaryHDU(header=primary_header(release, record, version))
    primary = fits.PrimaryHDU()
    primary.header["OBJ"] = (str(apogee_id), "APOGEE object name")
    return primary


def _primary_and_spectra(apogee_id, flux, error, model, record, release, version):
    """HDUs 0-3 of :func:`aspcapstar_hdulist`; ``record`` one allStar row or None."""
    dtype = np.float64 if release == "dr17" else np.float32
    primary = _primary(apogee_id, record, release, version)
    model = np.zeros(spectra.N_PIXELS) if model is None else model
    images = [fits.ImageHDU(np.asarray(a, dtype=dtype), header=_HEADER.copy()) for a in (flux, error, model)]
    return [primary, *images]


def _card_value(value):
    """A header value as the FITS card shows it (astropy's formatting: strings quoted and padded to
    8 characters inside the quotes, numbers right-aligned in 20), or None where astropy would do
    more than that (long or non-ASCII text, non-finite numbers) and the caller must ask astropy."""
    if isinstance(value, str):
        if len(value) > 60 or not (value.isascii() and value.isprintable()):
            return None
        quoted = "'{:8}'".format(value.replace("'", "''"))
        return "''" if value == "" else f"{quoted:20}"
    if isinstance(value, bool):
        return f"{'T' if value else 'F':>20}"
    if isinstance(value, int):
        return f"{value:>20d}" if len(str(value)) <= 20 else None
    if isinstance(value, float) and np.isfinite(value):
        text = str(value).replace("e", "E")
        return f"{text:>20}" if len(text) <= 20 else None
    return None


@lru_cache(maxsize=1)
def _primary_start():
    """The cards an aspcapStar file's primary header opens with (SIMPLE, BITPIX, NAXIS, EXTEND)."""
    header = fits.PrimaryHDU().header
    header.set("EXTEND", True, after="NAXIS")
    return header.tostring().encode("ascii")[:80 * len(header.cards)]    # without END and the padding


def _astropy_primary_bytes(record, release, version):
    """HDU 0 as astropy serializes it, with the EXTEND card it adds to a primary with extensions."""
    header = _primary(None, record, release, version).header
    header.set("EXTEND", True, after="NAXIS")
    return header.tostring().encode("ascii")


@lru_cache(maxsize=8)
def _primary_bytes_cached(release, version):
    return _astropy_primary_bytes(None, release, version)


def primary_header_bytes(release, records, row, version):
    """The serialized HDU 0 of row ``row``'s aspcapStar file (:func:`primary_header`, with the
    EXTEND card astropy adds to a primary with extensions), built without astropy's per-card
    overhead (~0.2 ms a card): DR16/DR17's is the same for every star; DR14's star keys are
    formatted here as astropy formats them, falling back to astropy for any value it would treat
    specially. tests/test_mock_releases.py checks the bytes equal astropy's for every row."""
    if release != "dr14":
        return _primary_bytes_cached(release, str(version))
    cards = []
    for key, column in DR14_PRIMARY_KEYS.items():
        value = records.columns[column][row]
        value = value.strip() if isinstance(value, str) else value.item()
        text = _card_value(value)
        if text is None:    # astropy's own rules (and errors) for anything unusual
            return _astropy_primary_bytes(records.records[row], release, version)
        cards.append(f"{key:8}= {text:<70}")
    cards.append(f"{'END':80}")
    text = "".join(cards).encode("ascii")
    start = _primary_start()
    return start + text + b" " * (-(len(start) + len(text)) % 2880)


@lru_cache(maxsize=2)
def _image_header_bytes(dtype):
    """The serialized header of a spectrum HDU (1-3) of ``dtype``, as astropy writes it."""
    hdu = fits.ImageHDU(np.zeros(spectra.N_PIXELS, dtype=dtype), header=_HEADER.copy())
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buf)
    raw = buf.getvalue()
    return raw[2880:2880 + len(hdu.header.tostring())]


def aspcapstar_bytes(apogee_id, flux, error, *, model=None, records=None, row=None, release="dr14", version=""):
    """The bytes :func:`aspcapstar_hdulist` would write (HDU 4 = ``records`` row ``row``, or the
    name alone), assembled from serialized headers: astropy's per-HDU overhead (~30 ms a file)
    would dominate the mock's run time. tests/test_mock_releases.py checks the bytes are equal."""
    if records is None:
        buf = io.BytesIO()
        aspcapstar_hdulist(apogee_id, flux, error, model=model, release=release, version=version).writeto(buf)
        return buf.getvalue()
    dtype = np.dtype(">f8" if release == "dr17" else ">f4")
    parts = [primary_header_bytes(release, records, row, version)]
    model = np.zeros(spectra.N_PIXELS) if model is None else model
    for a in (flux, error, model):
        data = np.asarray(a).astype(dtype).tobytes()
        parts += [_image_header_bytes(dtype.newbyteorder("=")), data, b"\0" * (-len(data) % 2880)]
    parts.append(records.hdu_bytes(row))
    return b"".join(parts)


def write_aspcapstar(path, apogee_id, flux, error, truncate=False, **hdus):
    """Write one aspcapStar file atomically and return the sha1 (hex) of the complete file.

    ``hdus`` go to :func:`aspcapstar_bytes` (model, records, row, release, version). ``truncate``
    leaves a corrupt file (its first 4000 bytes, inside HDU 1's header) mimicking an interrupted
    transfer; the sha1 returned is still the complete file's, as the archive's checksum list has it.
    """
    data = aspcapstar_bytes(apogee_id, flux, error, **hdus)
    with atomic.atomic_path(path) as tmp:
        tmp.write_bytes(data[:4000] if truncate else data)
    return hashlib.sha1(data).hexdigest()


def write_sha1sums(path, sums):
    """Write a checksum list: one ``<sha1> <file name>`` line per (file name, sha1) of ``sums``,
    sorted by name (sas_layout.md sec. 3)."""
    atomic.write_text("".join(f"{sha} {name}\n" for name, sha in sorted(sums.items())), path)
