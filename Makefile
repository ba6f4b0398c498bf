# Two commands on a fresh machine: `make run` and `make test`.  Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all

.PHONY: run test test-cluster lint format figures reports report clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch and torchvision first, by exact version, so pip takes the builds on this disk.
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --profile workflow/profiles/default --cores $(CORES)

test: $(STAMP)
	$(BIN)/pytest

test-cluster: $(STAMP)
	$(BIN)/pytest -m cluster -s tests/cluster

lint: $(STAMP)
	$(BIN)/ruff check src tests workflow/scripts benchmarks
	$(BIN)/ruff format --check src tests workflow/scripts benchmarks
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint

format: $(STAMP)
	$(BIN)/ruff format src tests workflow/scripts benchmarks
	$(BIN)/snakefmt Snakefile workflow

figures: $(STAMP)
	$(BIN)/snakemake --profile workflow/profiles/default --cores $(CORES) figures

# one replication report per source: results/report/<source>.md and .html
reports: $(STAMP)
	$(BIN)/snakemake --profile workflow/profiles/default --cores $(CORES) reports

report: $(STAMP)
	$(BIN)/snakemake --report report.html

clean:
	rm -rf results figures .snakemake report.html report.zip
