"""The ``spectroparallax`` command.

``spectroparallax summary CATALOG [--json]`` prints the headline statistics of a catalog (HER19
Figs. 2 and 5), ours or the published one, through :func:`spectroparallax.catalog.stats.summary`.
"""

import argparse
import json
import sys
import textwrap

from spectroparallax.catalog import published, stats
from spectroparallax.io.errors import InputFileError

_COLUMN_MAPPING = """\
Catalogs: this workflow's results/<survey>/catalog/spectrophotometric_parallaxes.{fits,csv} or the paper's
published data_HoggEilersRix2018.fits (Zenodo record 1468053). Both use the same columns:
Gaia_parallax (Gaia DR2 + offset) and Gaia_parallax_err, spec_parallax and spec_parallax_err [mas],
training_set (0/1), sample (fold A/B). The published Gaia_parallax includes the 0.048 mas offset and
30 of its rows have none (they count in N, not in the Gaia-based numbers). The offset is read from
the FITS header keyword PLXOFFST (our catalog); without it (published file, CSV) it is 0.048 mas."""


def _offset_source(cat, args) -> str:
    if args.offset is not None:
        return "--offset"
    if "PLXOFFST" in cat.meta:
        return "catalog header PLXOFFST"
    return "no PLXOFFST in the file: the paper's value"


def _format(key: str, value, unit: str) -> tuple[str, str]:
    """(value, unit) as printed: counts as integers, fractions as percent."""
    if key.startswith("n_"):
        return f"{value:d}", ""
    if unit == "fraction":
        return f"{100 * value:.2f}", "%"
    return f"{value:.4g}", unit


def human_summary(path: str, result: dict, offset_source: str) -> str:
    """The summary as aligned lines: what each number is, its value, its unit."""
    rows = []
    for key, value in result.items():
        unit, text = stats.describe(key)
        if key == "offset":
            text = f"{text} ({offset_source})"
        elif key == "snr_min":
            text = text.replace("threshold", "threshold (--snr-min)")
        rows.append((text, *_format(key, value, unit)))
    width = max(len(text) for text, _, _ in rows)
    digits = max(len(v) for _, v, _ in rows)
    lines = [f"Headline statistics of {path} (HER19 Figs. 2 and 5)"]
    lines += [f"  {text:<{width}}  {v:>{digits}} {unit}".rstrip() for text, v, unit in rows]
    lines += textwrap.wrap(stats.SUMMARY_DEFINITIONS, width=100, initial_indent="Terms: ", subsequent_indent="  ")
    return "\n".join(lines)


def summary_command(args) -> int:
    try:
        cat = published.read_catalog(args.catalog)
    except InputFileError as exc:
        print(f"spectroparallax summary: error: {exc}", file=sys.stderr)
        return 1
    result = stats.summary(cat, offset=args.offset, snr_min=args.snr_min)
    if args.json:
        print(json.dumps({"catalog": args.catalog, **stats.json_ready(result)}))
    else:
        print(human_summary(args.catalog, result, _offset_source(cat, args)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spectroparallax",
                                     description="Spectrophotometric parallaxes (Hogg, Eilers & Rix 2019).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    summary = commands.add_parser(
        "summary", help="print the headline statistics of a catalog",
        description="Print the headline statistics of a spectrophotometric-parallax catalog: N per sample, "
                    "the robust fractional scatter and median bias of the high-S/N training stars (with and "
                    "without the parallax offset), the robust width of the normalized residuals, the median "
                    "fractional uncertainty and the fraction of stars more precise than Gaia.",
        epilog=_COLUMN_MAPPING, formatter_class=argparse.RawDescriptionHelpFormatter)
    summary.add_argument("catalog", metavar="CATALOG", help="catalog file (FITS, CSV or ECSV)")
    summary.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    summary.add_argument("--snr-min", type=float, default=20.0, metavar="S",
                         help="high-S/N subset: training stars with Gaia_parallax / Gaia_parallax_err >= S "
                              "(default: 20, the paper's Fig. 2)")
    summary.add_argument("--offset", type=float, default=None, metavar="MAS",
                         help="parallax offset [mas] included in Gaia_parallax (default: the header's "
                              f"PLXOFFST, else {stats.PUBLISHED_OFFSET})")
    summary.set_defaults(func=summary_command)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
