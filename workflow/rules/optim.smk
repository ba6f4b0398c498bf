RUN = "{dataset}/{arch}/{optimizer}/seed{seed}"


rule train_optim:
    input:
        data=image_source_file,
    output:
        metrics=f"{RESULTS}/optim/runs/{RUN}/metrics.csv",
        final=f"{RESULTS}/optim/runs/{RUN}/final.json",
        provenance=f"{RESULTS}/optim/runs/{RUN}/provenance.json",
    log:
        f"{RESULTS}/optim/logs/{RUN}.log",
    benchmark:
        f"{RESULTS}/optim/benchmarks/{RUN}.tsv"
    # Short runs are bundled into one cluster submission per `--group-components optim_train=N`.
    group:
        "optim_train"
    conda:
        ENV
    threads: OPTIM_RESOURCES.get("threads", 1)
    resources:
        mem_mb=OPTIM_RESOURCES.get("mem_mb", 2000),
        runtime=OPTIM_RESOURCES.get("runtime", 60),
        gpu=OPTIM_RESOURCES.get("gpu", 0),
        slurm_partition=OPTIM_RESOURCES.get("slurm_partition", ""),
    params:
        settings=run_settings("optim", OPTIM),
        device=config["device"],
    script:
        "../scripts/train_optim.py"
