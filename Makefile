# c2000cov: every install step lives here or in pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := data/demo
PYTEST_ARGS ?=

.PHONY: demo demo-delft demo-calibration test test-fast bench bench-gpu bench-national \
	bench-national-10m bench-maps lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# browser tests (tests/products/maps) use Debian's chromium; Playwright downloads no browser.
	# The report's A4 test prints with chromium and reads the PDF with poppler's pdftotext.
	{ command -v chromium && command -v pdftotext; } >/dev/null || { [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends chromium poppler-utils; } \
		|| echo 'warning: chromium or poppler-utils not installed (not root); browser tests will fail'
	touch $(STAMP)

$(DEMO_DIR)/dtm.tif: data/generate_demo.py | $(STAMP)
	$(BIN)/python data/generate_demo.py $(DEMO_DIR)

## demo: generate the demo region (when missing), calibrate the model on its synthetic drive
## test, run it calibrated, check it against the synthetic field reports, map, bundle and
## verify, offline. Calibrate and run share out/demo/.cache: the loss windows are computed once;
## calibrate's land-cover classes come from the scenario's [landcover].
demo: $(STAMP) $(DEMO_DIR)/dtm.tif
	$(BIN)/c2000cov calibrate data/demo.toml $(DEMO_DIR)/drive_test.csv --out out/demo-calibration \
		--slope
	$(BIN)/c2000cov run data/demo.toml --out out/demo --no-map \
		--calibration out/demo-calibration/calibration.toml
	$(BIN)/c2000cov validate out/demo $(DEMO_DIR)/field_reports.csv
	$(BIN)/c2000cov map out/demo --out maps/demo.html
	$(BIN)/c2000cov map out/demo --public --out maps/demo_public.html
	$(BIN)/c2000cov bundle out/demo --out out/demo-evidence.zip
	$(BIN)/c2000cov verify out/demo-evidence.zip

## demo-delft: real Dutch data: Delft AHN3 tiles and LoD1 buildings -> prepare -> a 2 m run
demo-delft: $(STAMP)
	$(BIN)/python data/delft_demo.py build/delft out/delft

## demo-calibration: the demo, which now calibrates and validates (kept for old scripts)
demo-calibration: demo

## test: the whole suite (slow tests included)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-fast: the suite without tests marked slow
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

out/demo/run.json: | $(STAMP) $(DEMO_DIR)/dtm.tif
	$(BIN)/c2000cov run data/demo.toml --out out/demo --no-map --quiet

## bench: propagation benchmarks, the service load test (serve-point) and prepare on 100
## AHN-like tiles (prepare-100-tiles), to bench-results.json
bench: $(STAMP) $(DEMO_DIR)/dtm.tif out/demo/run.json
	$(BIN)/c2000cov bench --json bench-results.json
	$(BIN)/c2000cov bench --workload serve-point --run-dir out/demo --json bench-results.json
	$(BIN)/c2000cov bench --workload prepare-100-tiles --json bench-results.json
	$(BIN)/python -m c2000cov.devtools.bench_whatif --json bench-results.json

## bench-gpu: workloads a, b and national-25m with the area kernel on the GPU (exit 2
## without one); bench/gpu_check.sh sets up a fresh GPU machine and compares with the CPU
bench-gpu: $(STAMP)
	$(BIN)/c2000cov bench --device gpu --workload a-single-25km-25m --workload b-single-25km-10m \
		--workload national-25m --json bench-results.json

## bench-national: the synthetic national scenario (180 x 230 km at 25 m, ~600 masts)
bench-national: $(STAMP)
	$(BIN)/c2000cov bench --workload national-25m --json bench-results.json

## bench-national-10m: the same national scenario at 10 m (18000 x 23000 px), cold cache:
## run time, peak RSS and cache size as workload national-10m. NATIONAL_FRACTION=0.25 runs a
## quarter of the area and adds the projection to the full area to the record.
## The loss cache needs disk: about 30 GB at the full area (120 GB as float32);
## NATIONAL_ARGS=--no-cache runs without it (the spill files' 10 GB of disk only).
NATIONAL_FRACTION ?= 1
NATIONAL_ARGS ?=
bench-national-10m: $(STAMP)
	$(BIN)/python -m c2000cov.devtools.national --resolution-m 10 \
		--fraction $(NATIONAL_FRACTION) $(NATIONAL_ARGS) --json bench-results.json

## bench-maps: HTML map size and chromium load time, demo and a 50 x 50 km region at 10 m
bench-maps: $(STAMP)
	$(BIN)/c2000cov bench --workload map-demo --workload map-50km --json bench-results.json

lint: $(STAMP)
	$(BIN)/ruff check c2000cov kernels tests data

clean:
	rm -rf out $(DEMO_DIR) maps/*.html
