# Names shared by the figure rules (figures.smk) and the cluster rule (clusters.smk).

CATALOG = "results/catalog/spectrophotometric_parallaxes.fits"
PARENT = "results/samples/parent.fits"
FIG = config["figures"]
# Every figure job reads a few small tables and draws for seconds.
FIGURE_RESOURCES = {"mem_mb": 1000, "runtime": 10}


def figure_output(name, title):
    """The PDF and PNG of a figure, both in the report under Figures (PNG shows inline, the PDF
    opens in the browser's viewer)."""
    caption = f"../report/{name}.rst"
    return {
        ext: report(f"results/figures/{name}.{ext}", caption=caption, category="Figures",
                    labels={"figure": title, "format": ext.upper()})
        for ext in ("pdf", "png")
    }
