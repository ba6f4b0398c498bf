# The ram study (seed 004): one run per dataset x model x glimpses x optimizer x seed (the
# combinations the study's cell filter accepts: a baseline has glimpses 0).

RAM_RUN = "{dataset}/{model}/{glimpses}/{optimizer}/seed{seed}"


rule train_ram:
    input:
        data=f"{RESULTS}/data/{STUDIES['ram']['run']['digits']}.pt",
    output:
        metrics=f"{RESULTS}/ram/runs/{RAM_RUN}/metrics.csv",
        final=f"{RESULTS}/ram/runs/{RAM_RUN}/final.json",
        provenance=f"{RESULTS}/ram/runs/{RAM_RUN}/provenance.json",
        examples=f"{RESULTS}/ram/runs/{RAM_RUN}/examples.pt",
    log:
        f"{RESULTS}/ram/logs/{RAM_RUN}.log",
    benchmark:
        f"{RESULTS}/ram/benchmarks/{RAM_RUN}.tsv"
    wildcard_constraints:
        **constraints("ram", ("dataset", "model", "glimpses", "optimizer")),
    group:
        "ram_train"
    conda:
        ENV
    threads: job_threads("ram")
    resources:
        **resources("ram"),
    params:
        study="ram",
        settings=run_params("ram"),
        device=config["device"],
        checkpoint_every=checkpoint_every("ram"),
    script:
        "../scripts/train.py"
