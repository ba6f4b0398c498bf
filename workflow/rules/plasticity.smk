# The plasticity study (seed 003): one curriculum run per network x size x seed.

PLASTIC_RUN = "{network}/{size}/seed{seed}"


rule train_plasticity:
    output:
        metrics=f"{RESULTS}/plasticity/runs/{PLASTIC_RUN}/metrics.csv",
        final=f"{RESULTS}/plasticity/runs/{PLASTIC_RUN}/final.json",
        provenance=f"{RESULTS}/plasticity/runs/{PLASTIC_RUN}/provenance.json",
        model=f"{RESULTS}/plasticity/runs/{PLASTIC_RUN}/model.pt",
    log:
        f"{RESULTS}/plasticity/logs/{PLASTIC_RUN}.log",
    benchmark:
        f"{RESULTS}/plasticity/benchmarks/{PLASTIC_RUN}.tsv"
    wildcard_constraints:
        **constraints("plasticity", ("network", "size")),
    group:
        "plasticity_train"
    conda:
        ENV
    threads: resources("plasticity", threads=1)["threads"]
    resources:
        **resources("plasticity", mem_mb=1000, runtime=60, gpu=0, slurm_partition=""),
    params:
        study="plasticity",
        settings=run_params("plasticity"),
        checkpoint_every=STUDIES["plasticity"].get("checkpoint_every", 50),
        device=config["device"],
    script:
        "../scripts/train.py"
