rule prepare_data:
    output:
        f"{RESULTS}/data/{{source}}.pt",
    log:
        f"{RESULTS}/logs/prepare_data/{{source}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data/{{source}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        # measured: digits 0.7 GB in 6 s; CIFAR's 50,000 images as tensors need a few GB
        mem_mb=lambda wc: 1000 if wc.source == "digits" else 6000,
        runtime=lambda wc: 5 if wc.source == "digits" else 60,
    params:
        data_root=config["data_root"],
        download=config["download"],
    script:
        "../scripts/prepare_data.py"
