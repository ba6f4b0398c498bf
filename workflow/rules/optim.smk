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
    threads: OPTIM.get("resources", {}).get("threads", 1)
    resources:
        mem_mb=OPTIM.get("resources", {}).get("mem_mb", 2000),
        runtime=OPTIM.get("resources", {}).get("runtime", 60),
        gpu=OPTIM.get("resources", {}).get("gpu", 0),
        slurm_partition=OPTIM.get("resources", {}).get("slurm_partition", ""),
    params:
        settings=run_settings("optim", OPTIM),
        device=config["device"],
    script:
        "../scripts/train_optim.py"
