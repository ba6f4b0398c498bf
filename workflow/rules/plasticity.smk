# The plasticity study (seed 003): one job per network x size trains every configured seed of
# it, as the lanes of one population (attnmem.models.plastic_pop) under the default engine;
# each seed still writes its own folder, and its numbers do not depend on the other seeds.

PLASTIC_CELL = "{network}/{size}"


rule train_plasticity:
    output:
        **all_seed_outputs(
            "plasticity", f"{RESULTS}/plasticity/runs/{PLASTIC_CELL}/", "model.pt"
        ),
    log:
        f"{RESULTS}/plasticity/logs/{PLASTIC_CELL}.log",
    benchmark:
        f"{RESULTS}/plasticity/benchmarks/{PLASTIC_CELL}.tsv"
    wildcard_constraints:
        **constraints("plasticity", ("network", "size")),
    group:
        "plasticity_train"
    conda:
        ENV
    threads: job_threads("plasticity")
    resources:
        **resources("plasticity"),
    params:
        study="plasticity",
        settings=run_params("plasticity"),
        seeds=STUDIES["plasticity"]["seeds"],
        checkpoint_every=checkpoint_every("plasticity"),
        device=config["device"],
    script:
        "../scripts/train.py"
