# The SAC study (thesis Figs. 11-12): one run per env x mode x actor x seed.

SAC_RUN = "{env}/{mode}/{actor}/seed{seed}"


rule train_sac:
    output:
        metrics=f"{RESULTS}/sac/runs/{SAC_RUN}/metrics.csv",
        final=f"{RESULTS}/sac/runs/{SAC_RUN}/final.json",
        provenance=f"{RESULTS}/sac/runs/{SAC_RUN}/provenance.json",
        actor=f"{RESULTS}/sac/runs/{SAC_RUN}/actor.pt",
    log:
        f"{RESULTS}/sac/logs/{SAC_RUN}.log",
    benchmark:
        f"{RESULTS}/sac/benchmarks/{SAC_RUN}.tsv"
    wildcard_constraints:
        **constraints("sac", ("env", "mode", "actor")),
    group:
        "sac_train"
    conda:
        ENV
    threads: job_threads("sac")
    resources:
        # gpu: 0 by the study schema (one environment step at a time: the CPU is faster)
        **resources("sac"),
    params:
        study="sac",
        settings=run_params("sac"),
        checkpoint_every=checkpoint_every("sac"),
    script:
        "../scripts/train.py"
