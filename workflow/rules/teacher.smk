# The teacher study (thesis Table 4): one DQN teacher and its windowed dataset per env x mode x
# seed, shared by one training job per predictor; then Table 4 with seeds, its figure and table.

TEACHER_RUN = "{env}/{mode}/seed{seed}"
PREDICTOR_RUN = "{env}/{mode}/{predictor}/seed{seed}"


rule train_teacher:
    output:
        metrics=f"{RESULTS}/teacher/teachers/{TEACHER_RUN}/metrics.csv",
        final=f"{RESULTS}/teacher/teachers/{TEACHER_RUN}/final.json",
        provenance=f"{RESULTS}/teacher/teachers/{TEACHER_RUN}/provenance.json",
        teacher=f"{RESULTS}/teacher/teachers/{TEACHER_RUN}/teacher.pt",
        dataset=f"{RESULTS}/teacher/teachers/{TEACHER_RUN}/dataset.pt",
    log:
        f"{RESULTS}/teacher/logs/teachers/{TEACHER_RUN}.log",
    benchmark:
        f"{RESULTS}/teacher/benchmarks/teachers/{TEACHER_RUN}.tsv"
    group:
        "teacher_train"
    conda:
        ENV
    threads: TEACHER_RESOURCES.get("threads", 1)
    resources:
        mem_mb=TEACHER_RESOURCES.get("mem_mb", 1000),
        runtime=TEACHER_RESOURCES.get("runtime", 30),
        gpu=0,  # one environment step per update: a GPU would only add transfers
        slurm_partition=TEACHER_RESOURCES.get("slurm_partition", ""),
    params:
        settings={k: TEACHER.get(k, {}) for k in ("dqn", "rollout")},
    script:
        "../scripts/train_teacher.py"


rule train_predictor:
    input:
        dataset=f"{RESULTS}/teacher/teachers/{TEACHER_RUN}/dataset.pt",
    output:
        metrics=f"{RESULTS}/teacher/runs/{PREDICTOR_RUN}/metrics.csv",
        final=f"{RESULTS}/teacher/runs/{PREDICTOR_RUN}/final.json",
        provenance=f"{RESULTS}/teacher/runs/{PREDICTOR_RUN}/provenance.json",
    log:
        f"{RESULTS}/teacher/logs/runs/{PREDICTOR_RUN}.log",
    benchmark:
        f"{RESULTS}/teacher/benchmarks/runs/{PREDICTOR_RUN}.tsv"
    group:
        "teacher_train"
    conda:
        ENV
    threads: TEACHER_RESOURCES.get("threads", 1)
    resources:
        mem_mb=TEACHER_RESOURCES.get("mem_mb", 1000),
        runtime=TEACHER_RESOURCES.get("runtime", 30),
        gpu=TEACHER_RESOURCES.get("gpu", 0),
        slurm_partition=TEACHER_RESOURCES.get("slurm_partition", ""),
    params:
        settings={"predictor": TEACHER.get("predictor", {})},
        device=config["device"],
    script:
        "../scripts/train_predictor.py"


rule aggregate_teacher:
    input:
        finals=[f"{d}/final.json" for d in teacher_run_dirs()],
        metrics=[f"{d}/metrics.csv" for d in teacher_run_dirs()],
        teachers=[f"{d}/final.json" for d in teacher_dirs()],
    output:
        runs=f"{RESULTS}/teacher/runs.csv",
        teachers=f"{RESULTS}/teacher/teachers.csv",
        summary=report(
            f"{RESULTS}/teacher/summary.csv",
            caption="../report/teacher_summary.rst",
            category="teacher",
            subcategory="statistics",
        ),
        curves=f"{RESULTS}/teacher/curves.csv",
        comparisons=report(
            f"{RESULTS}/teacher/comparisons.csv",
            caption="../report/teacher_comparisons.rst",
            category="teacher",
            subcategory="statistics",
        ),
    log:
        f"{RESULTS}/logs/aggregate_teacher.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate_teacher.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        settings=TEACHER,
        claims=CLAIMS_SPEC["claims"],
        stats=config["stats"],
    script:
        "../scripts/aggregate_teacher.py"


rule plot_teacher:
    input:
        runs=f"{RESULTS}/teacher/runs.csv",
        summary=f"{RESULTS}/teacher/summary.csv",
        teachers=f"{RESULTS}/teacher/teachers.csv",
    output:
        png=report(
            f"{FIGURES}/teacher/accuracy.png",
            caption="../report/teacher_accuracy.rst",
            category="teacher",
            subcategory="figures",
        ),
        pdf=f"{FIGURES}/teacher/accuracy.pdf",
    log:
        f"{RESULTS}/logs/plot_teacher.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_teacher.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        published=PUBLISHED,
    script:
        "../scripts/plot_teacher.py"


rule table_teacher:
    input:
        summary=f"{RESULTS}/teacher/summary.csv",
        teachers=f"{RESULTS}/teacher/teachers.csv",
    output:
        md=report(
            f"{RESULTS}/tables/teacher.md",
            caption="../report/teacher_table.rst",
            category="teacher",
            subcategory="tables",
        ),
        tex=f"{RESULTS}/tables/teacher.tex",
    log:
        f"{RESULTS}/logs/table_teacher.log",
    benchmark:
        f"{RESULTS}/benchmarks/table_teacher.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        published=PUBLISHED,
    script:
        "../scripts/table_teacher.py"
