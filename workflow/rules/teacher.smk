# The teacher study (thesis Table 4): one DQN teacher and its windowed dataset per env x mode x
# seed, shared by one training job per predictor.

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
    wildcard_constraints:
        **constraints("teacher", ("env", "mode")),
    group:
        "teacher_train"
    conda:
        ENV
    threads: job_threads("teacher")
    resources:
        # gpu 0: one environment step per update, a GPU would only add transfers (the
        # configured gpu goes to the predictor jobs)
        **resources("teacher", gpu=0),
    params:
        study="teacher",
        # the teacher's own settings only: a new predictor setting never retrains the teachers
        settings=run_params("teacher", "dqn", "rollout"),
    script:
        "../scripts/train.py"


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
    wildcard_constraints:
        **constraints("teacher", ("env", "mode", "predictor")),
    group:
        "teacher_train"
    conda:
        ENV
    threads: job_threads("teacher")
    resources:
        **resources("teacher"),
    params:
        study="teacher",
        settings=run_params("teacher", "predictor"),
        device=config["device"],
    script:
        "../scripts/train.py"
