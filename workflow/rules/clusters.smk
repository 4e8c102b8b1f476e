# Members of the clusters of HER19 Fig. 4, chosen by position, proper motion and radial velocity
# (config.yaml clusters:), with both parallaxes, for the figure and for anyone checking them.


localrules:
    cluster_members,


rule cluster_members:
    input:
        catalog=CATALOG,
        parent=PARENT,
    output:
        "results/clusters/members.ecsv",
    params:
        clusters=config["clusters"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "logs/clusters/cluster_members.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/cluster_members.py"
