# Every target uses uv (installed from PyPI on first use); see README.md.
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python
export UV_LINK_MODE ?= copy

.PHONY: install pins pins-check lint format test test-all smoke package-check docs demo demo-ultralytics plan-demo cluster-demo cluster-test clean

install: .venv/.synced

.venv/.synced: pyproject.toml | $(UV)
	$(UV) sync
	@touch $@

$(UV):
	python3 -m pip install --user --quiet uv

# Upgrade: re-resolve every dependency to its newest allowed version (`uv lock --upgrade` in a
# temp copy, the current pins ignored) and rewrite the constraint block in pyproject.toml; then
# `make install test` and commit pyproject.toml. pins-check: is the block a fresh resolution?
pins: | $(UV)
	UV=$(UV) $(UV) run --no-project --python '>=3.11' python scripts/pins.py

pins-check: | $(UV)
	UV=$(UV) $(UV) run --no-project --python '>=3.11' python scripts/pins.py --check

# ruff (lint, format) and the import contracts of the layout (pyproject.toml [tool.importlinter])
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	.venv/bin/lint-imports

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

test: install
	$(PY) -m pytest -q -m "not slow" --timeout=300

test-all: install
	$(PY) -m pytest -q --timeout=1800

# The documentation site (mkdocs.yml, docs/): offline, every warning an error.
docs: install
	$(PY) -m mkdocs build --strict --site-dir site

# End-to-end sweeps (CI runs them after `make test`): the real path, trained, equal to upstream;
# the same on the ultralytics engine (a sweep into MLflow, and the baseline equal to plain ultralytics).
smoke: install
	$(PY) -m pytest -q --timeout=1200 -m slow tests/sweep/test_upstream_equivalence.py \
	  tests/engines/ultralytics/test_sweep.py tests/engines/ultralytics/test_equivalence.py

# The package as a user installs it: the wheel (uv build) into a fresh venv with every pin, then
# the five commands and the demo in an empty folder with nothing of the checkout importable
# (scripts/package_check.py; the network for the install only). ~1 min + the demo's training.
package-check: install
	UV=$(UV) UV_LINK_MODE=hardlink $(PY) scripts/package_check.py

DEMO ?= attention=simam,ema placement=neck experiment=demo
demo: install
	$(PY) -m ablation.run $(DEMO)
	$(PY) -m ablation.export out=results/ablation.csv
	$(PY) -m ablation.report out=results
	@echo "Report: results/report.html"
	@$(PY) -m ablation.track tracking.uri=sqlite:///$(CURDIR)/mlflow.db

# The same on the ultralytics engine (experiment=demo_ultralytics: yolo11n, 64 px, 3 epochs), into
# the same store: the report then shows both engines' configs.
demo-ultralytics:
	$(MAKE) demo DEMO="attention=simam,se placement=neck experiment=demo_ultralytics"

# As root: a single-node Slurm, PostgreSQL and `mlflow server` on 127.0.0.1 (apt-get installs
# slurm-wlm, munge, postgresql when missing), the demo grid through hydra/launcher=slurm into the
# server, CSV + report from the server, the checks; then stops what it started. Outputs in
# cluster-demo/. CLUSTER_DEMO_ARGS adds overrides, e.g. CLUSTER_DEMO_ARGS=train.epochs=3
cluster-demo: install
	$(PY) scripts/cluster/demo.py --out $(CURDIR)/cluster-demo $(CLUSTER_DEMO_ARGS)

# As root: the slow tests against real services (Slurm, PostgreSQL, mlflow server); see docs/development.md.
cluster-test: install
	$(PY) -m pytest -q -m slow --timeout=3600 tests/cluster tests/track

plan-demo: install
	$(PY) -m ablation.plan model=yolov5n,yolov5s attention=simam,ema,se placement=neck,after_c3,before_sppf out=plans/demo

clean:
	rm -rf plans outputs multirun runs datasets cluster-demo site .pytest_cache
