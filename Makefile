# Two commands on a fresh machine: `make run` and `make test`.  Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all

.PHONY: run test test-cluster lint format figures reports report probe derived clean

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

# What is derived from the registry, the study schemas and the claims (tests check each is in
# sync): the SLURM profile's group components, config/README.md's key tables and its list of
# what the default can decide.
derived: $(STAMP)
	$(BIN)/python -m attnmem.slurm
	$(BIN)/python -m attnmem.keydoc
	$(BIN)/python -m attnmem.decidability

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

# A short run of each config/paper.yaml cell of the studies that declare a probe (Study.probe),
# whose costs fill the cells config/costs.yaml lacks: every undecided claim then says what
# deciding it would cost in CPU-hours (attnmem.probe).  About 35 minutes on 2 cores.
probe: $(STAMP)
	targets=$$($(BIN)/python -m attnmem.probe config/paper.yaml results_probe) && \
	$(BIN)/snakemake --profile workflow/profiles/default --cores $(CORES) \
		--configfile=results_probe/probe.yaml $$targets && \
	$(BIN)/python -m attnmem.costs results_probe results_probe/probe.yaml config/costs.yaml --fill

# one replication report per source: results/report/<source>.md and .html
reports: $(STAMP)
	$(BIN)/snakemake --profile workflow/profiles/default --cores $(CORES) reports

report: $(STAMP)
	$(BIN)/snakemake --report report.html

clean:
	rm -rf results figures .snakemake report.html report.zip
