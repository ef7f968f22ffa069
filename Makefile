# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
VENDOR := static/vendor/uswds
LEAFLET := static/vendor/leaflet
SWAGGER := static/vendor/swagger-ui

.PHONY: run serve install assets translations migrate seed test lint bench clean

run: install assets translations migrate seed serve

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The US Web Design System as the pages use it (issue 21): static/src/uswds-portal.scss compiled
# with Dart Sass (only the packages and utilities the templates use, system fonts),
# static/src/uswds-portal.js bundled with esbuild (only the behaviours the pages use); `assets`
# then copies only the images the CSS and the templates name.
$(VENDOR)/.built: node_modules/.package-lock.json static/src/uswds-portal.scss static/src/uswds-portal.js
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/css $(VENDOR)/js $(VENDOR)/img
	node_modules/.bin/sass --no-source-map --style=compressed --quiet-deps \
		--load-path=node_modules/@uswds/uswds/packages \
		static/src/uswds-portal.scss $(VENDOR)/css/uswds-portal.min.css
	node_modules/.bin/esbuild static/src/uswds-portal.js --bundle --minify --target=es2017 \
		--legal-comments=none --log-level=warning --outfile=$(VENDOR)/js/uswds-portal.min.js
	touch $@

# Leaflet and its marker clustering, for the maps (templates/places/_map.html).
$(LEAFLET)/.copied: node_modules/.package-lock.json
	rm -rf $(LEAFLET) && mkdir -p $(LEAFLET)
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css $(LEAFLET)/
	cp -r node_modules/leaflet/dist/images $(LEAFLET)/
	cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js $(LEAFLET)/
	cp node_modules/leaflet.markercluster/dist/MarkerCluster.css $(LEAFLET)/
	cp node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css $(LEAFLET)/
	touch $@

# Swagger UI, the developer page's interactive viewer of the OpenAPI document
# (templates/open311/developers/api.html, started by static/js/openapi-viewer.js).
$(SWAGGER)/.copied: node_modules/.package-lock.json
	rm -rf $(SWAGGER) && mkdir -p $(SWAGGER)
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
		node_modules/swagger-ui-dist/LICENSE node_modules/swagger-ui-dist/NOTICE $(SWAGGER)/
	touch $@

# Every static file under a hashed name, gzip- and Brotli-compressed, with a manifest
# (portal/assets.py): served by WhiteNoise with a year's caching (portal/static_files.py).
# Rebuilt every time: it takes a second or two, and a changed file must get its new name.
assets: $(VENDOR)/.built $(LEAFLET)/.copied $(SWAGGER)/.copied | $(VENV)/.installed
	$(BIN)/python -m portal.assets uswds-images
	$(BIN)/python -m portal.assets build

translations: install
	$(BIN)/pybabel compile -d portal/translations

migrate: install
	$(FLASK) db upgrade

seed: install
	$(FLASK) demo load

# The web server, the worker and the email receiver (SMTP on loopback port 8025: the demo
# can be written to with any mail client or `swaks --server 127.0.0.1:8025`) side by side;
# Ctrl-C stops them all.
serve: install
	@trap 'kill 0' INT TERM EXIT; \
	$(FLASK) worker & \
	$(FLASK) mail-in serve --host 127.0.0.1 --port 8025 & \
	$(FLASK) run --host 127.0.0.1 --port 5000

# The suite runs on every core (pytest-xdist; each worker has a database of its own, see
# tests/conftest.py), a test file's tests on one worker so its module fixtures start once.
# PYTEST_WORKERS=0 runs it in one process. The 25 slowest tests are listed at the end (what
# to look at first when the run gets longer).
PYTEST_WORKERS ?= auto
test: install assets translations
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25 $(PYTEST_ARGS)

# The rules the machine enforces (pyproject.toml has the import contracts and the type
# checker's settings): every check runs, and lint fails if any of them failed.
lint: install
	status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/lint-imports || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

bench: install
	$(BIN)/python benchmarks/filing.py
	$(BIN)/python benchmarks/storm.py
	$(BIN)/python benchmarks/sla_sweep.py
	$(BIN)/python benchmarks/survey_results.py
	$(BIN)/python benchmarks/programmes.py
	$(BIN)/python benchmarks/open311.py
	$(BIN)/python benchmarks/reports.py
	$(BIN)/python benchmarks/city_import.py
	$(BIN)/python benchmarks/pages.py

clean:
	rm -rf $(VENV) node_modules static/vendor static/dist

# Until the first release the schema is one initial migration; this rebuilds it from the models.
initial-migration: install
	rm -f migrations/versions/0001_initial.py instance/migration-scratch.db
	mkdir -p instance
	$(BIN)/python -c "from portal.migrate import alembic_config; from alembic import command; \
	c = alembic_config('sqlite:///instance/migration-scratch.db'); \
	command.revision(c, message='initial schema', autogenerate=True, rev_id='0001')"
	mv migrations/versions/0001_initial_schema.py migrations/versions/0001_initial.py
	rm -f instance/migration-scratch.db
	$(BIN)/ruff format -q migrations/versions && $(BIN)/ruff check -q --fix migrations/versions

# Refresh the Spanish catalogue from the source (then translate the new entries).
extract-messages: install
	$(BIN)/pybabel extract -F portal/translations/babel.cfg -k _l -k lazy_gettext -o instance/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i instance/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

# A new migration from the model changes: make migration NAME=add_tasks (numbered NNNN_name).
migration: install
	rm -f instance/migration-scratch.db && mkdir -p instance
	$(BIN)/python -c "import sys; from portal.migrate import alembic_config, upgrade; \
	from alembic import command; from alembic.script import ScriptDirectory; \
	url = 'sqlite:///instance/migration-scratch.db'; upgrade(url); c = alembic_config(url); \
	head = ScriptDirectory.from_config(c).get_current_head(); \
	command.revision(c, message='$(NAME)', autogenerate=True, rev_id=f'{int(head) + 1:04d}')"
	rm -f instance/migration-scratch.db
	$(BIN)/ruff format -q migrations/versions && $(BIN)/ruff check -q --fix migrations/versions
