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
        mem_mb=4000,
        runtime=30,
    params:
        data_root=config["data_root"],
        download=config["download"],
    script:
        "../scripts/prepare_data.py"
