"""Rule select_samples: Parent Sample, fold labels, Training Sets and the cut-flow table."""

import logging

from astropy.table import Table, vstack

from spectroparallax.archives import gaia_query
from spectroparallax.io import atomic
from spectroparallax.sample import cuts, folds
from spectroparallax.sample.cutflow import format_cutflow
from spectroparallax.io.logs import job_logging

job_logging(snakemake)
sample = snakemake.params.sample

allstar = Table.read(snakemake.input.allstar)
gaia = gaia_query.read_chunks(snakemake.input.gaia)
spectra = vstack([Table.read(p) for p in snakemake.input.spectra])

parent, flow = cuts.select_parent(allstar, gaia, spectra, sample, duplicates=snakemake.params.duplicates)
parent["fold"] = folds.assign_folds(parent, snakemake.params.split, snakemake.params.n_folds,
                                    snakemake.params.split_seed)
parent["training"] = False
tables = [flow.table("parent")]
for fold in sorted(set(parent["fold"])):
    mask, fold_flow = cuts.training_set(parent, sample["training"], fold=fold)
    parent["training"] |= mask
    tables.append(fold_flow.table(f"training {fold}"))
cutflow = vstack(tables)

atomic.write_table(parent, snakemake.output.parent)
atomic.write_table(cutflow, snakemake.output.cutflow)
logging.info("Cut-flow (rows removed, rows remaining):\n%s", format_cutflow(cutflow))
