# The optim study (thesis §9.1): one run per dataset x architecture x optimizer x seed.

OPTIM_RUN = "{dataset}/{arch}/{optimizer}/seed{seed}"


rule train_optim:
    input:
        data=image_source_file,
    output:
        metrics=f"{RESULTS}/optim/runs/{OPTIM_RUN}/metrics.csv",
        final=f"{RESULTS}/optim/runs/{OPTIM_RUN}/final.json",
        provenance=f"{RESULTS}/optim/runs/{OPTIM_RUN}/provenance.json",
    log:
        f"{RESULTS}/optim/logs/{OPTIM_RUN}.log",
    benchmark:
        f"{RESULTS}/optim/benchmarks/{OPTIM_RUN}.tsv"
    wildcard_constraints:
        **constraints("optim", ("dataset", "arch", "optimizer")),
    # Short runs are bundled into one cluster submission per `--group-components optim_train=N`.
    group:
        "optim_train"
    conda:
        ENV
    threads: job_threads("optim")
    resources:
        **resources("optim"),
    params:
        study="optim",
        settings=run_params("optim"),
        device=config["device"],
    script:
        "../scripts/train.py"
