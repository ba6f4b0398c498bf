# The attention-PPO study (seed 001): one run per env x policy x mode x optimizer x seed.

PPO_ATTN_RUN = "{env}/{policy}/{mode}/{optimizer}/seed{seed}"


rule train_ppo_attn:
    output:
        metrics=f"{RESULTS}/ppo_attn/runs/{PPO_ATTN_RUN}/metrics.csv",
        final=f"{RESULTS}/ppo_attn/runs/{PPO_ATTN_RUN}/final.json",
        provenance=f"{RESULTS}/ppo_attn/runs/{PPO_ATTN_RUN}/provenance.json",
    log:
        f"{RESULTS}/ppo_attn/logs/{PPO_ATTN_RUN}.log",
    benchmark:
        f"{RESULTS}/ppo_attn/benchmarks/{PPO_ATTN_RUN}.tsv"
    wildcard_constraints:
        **constraints("ppo_attn", ("env", "policy", "mode", "optimizer")),
    group:
        "ppo_attn_train"
    conda:
        ENV
    threads: job_threads("ppo_attn")
    resources:
        # gpu: 0 by the study schema (one environment step at a time: the CPU is faster)
        **resources("ppo_attn"),
    params:
        study="ppo_attn",
        settings=run_params("ppo_attn"),
        checkpoint_every=checkpoint_every("ppo_attn"),
    script:
        "../scripts/train.py"
