# Names and the input function of the published-catalog comparison (rules in published.smk).
from snakemake.exceptions import WorkflowError

PUBLISHED_CATALOG = "resources/published/data_HoggEilersRix2018.fits"
PUBLISHED_JOINED = "results/published/joined.fits"
# The lead appends these to the `figures` rule's inputs; empty on the mock, so `figures` and `all`
# never ask for the comparison there.
PUBLISHED_FIGURES = (
    [] if SURVEY == "mock" else expand("results/figures/published_comparison.{ext}", ext=["pdf", "png"])
)


def published_join_inputs(wildcards):
    """Our catalog and the published one; on the mock, a clear error instead of a meaningless join."""
    if SURVEY == "mock":
        raise WorkflowError(
            "the comparison with the published catalog (rules join_published, published_comparison) needs "
            "survey=dr14: the published catalog holds the paper's APOGEE DR14 stars, not the mock's. "
            "Run it with --config survey=dr14, or leave it out on the mock."
        )
    return {"ours": rules.catalog.output.fits, "published": PUBLISHED_CATALOG}
