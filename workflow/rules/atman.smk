# The ātmán study (seed 002): one job per cell trains every configured seed of it (the runs are
# seconds each; a job per seed would spend more on starting than on training), and one job
# trains every seed of the MLP reference.

ATMAN_CELL = "{layout}/{attention}/{trainer}/{rule}"
ATMAN_SEEDS = STUDIES["atman"]["seeds"]


rule train_atman:
    output:
        **all_seed_outputs(
            "atman", f"{RESULTS}/atman/runs/{ATMAN_CELL}/", "network.json"
        ),
    log:
        f"{RESULTS}/atman/logs/{ATMAN_CELL}.log",
    benchmark:
        f"{RESULTS}/atman/benchmarks/{ATMAN_CELL}.tsv"
    wildcard_constraints:
        **{
            axis: one_of(axis_values("atman", axis))
            for axis in ("layout", "attention", "trainer", "rule")
        },
    group:
        "atman_train"
    conda:
        ENV
    threads: job_threads("atman")
    resources:
        **resources("atman"),
    params:
        study="atman",
        # the trainers' settings: editing the MLP reference's retrains only the reference
        settings=run_params(
            "atman", *(key for key in STUDIES["atman"]["run"] if key != "reference")
        ),
        seeds=ATMAN_SEEDS,
        checkpoint_every=checkpoint_every("atman"),
    script:
        "../scripts/train.py"


rule train_atman_reference:
    output:
        **all_seed_outputs("atman", f"{RESULTS}/atman/reference/", "network.json"),
    log:
        f"{RESULTS}/atman/logs/reference.log",
    benchmark:
        f"{RESULTS}/atman/benchmarks/reference.tsv"
    group:
        "atman_train"
    conda:
        ENV
    threads: 1
    resources:
        **resources("atman"),
    params:
        study="atman",
        settings=run_params("atman", "reference"),
        seeds=ATMAN_SEEDS,
    script:
        "../scripts/train.py"
