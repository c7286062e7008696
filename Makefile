# Tessera: `make run` serves, `make test` runs the suite; both install what is missing first.
SHELL := /bin/bash
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd poppler-utils
# Only the tests need a browser (they drive the web page in headless Chromium) and debootstrap
# (the offline bundle is installed on a bare Debian).
TEST_SYSTEM_PACKAGES := chromium chromium-driver debootstrap
CODE := ocr_engine server tests tools
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-packages test-system-packages run test check lint types bench eval bundle clean

install: system-packages $(STAMP)

# Debian packages, only those missing; quiet when nothing is.
system-packages:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	python3 -c "import venv, ensurepip" 2>/dev/null || missing="$$missing python3 python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The same, for what only the tests need.
test-system-packages:
	@$(MAKE) --no-print-directory system-packages SYSTEM_PACKAGES="$(TEST_SYSTEM_PACKAGES)"

$(STAMP): pyproject.toml
	@[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	@echo "installing Python packages into $(VENV)"
	@$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

run: install
	$(VENV)/bin/tessera serve

# The whole suite: real Tesseract, the real service, SQLite and PostgreSQL. CI runs this.
# TEST_JOBS processes share the tests (pytest-xdist): every test has its own ports,
# databases and folders, so any number works; `make test TEST_JOBS=0` runs them in one.
TEST_JOBS ?= 2
test: install test-system-packages lint types
	$(PYTHON) -m pytest -q -n $(TEST_JOBS)

# The quick loop: lint, types, and the tests that start no service and run no Tesseract.
check: install lint types
	$(PYTHON) -m pytest -q -m "not service and not ocr"

lint: install
	$(VENV)/bin/ruff check $(CODE)
	$(VENV)/bin/ruff format --check $(CODE)

types: install
	$(VENV)/bin/mypy --strict ocr_engine
	$(VENV)/bin/mypy server tools

# OCRmyPDF, only for the benchmark's searchable-PDF comparison: a virtualenv of its own, not a
# dependency of Tessera. Version 17 needs no Ghostscript (pypdfium2 rasterizes).
OCRMYPDF_VENV := bench-data/ocrmypdf-venv

bench: install $(OCRMYPDF_VENV)/bin/ocrmypdf
	$(PYTHON) -m tools.benchmark

$(OCRMYPDF_VENV)/bin/ocrmypdf:
	@echo "installing OCRmyPDF into $(OCRMYPDF_VENV), for the benchmark only"
	@python3 -m venv $(OCRMYPDF_VENV)
	@$(OCRMYPDF_VENV)/bin/pip install -q --disable-pip-version-check 'ocrmypdf>=17,<18'

eval: install
	$(PYTHON) -m tools.eval
	$(PYTHON) -m tools.realeval

# One archive for a machine with no network (see the README's air-gapped section); run it on a
# connected machine of the target's OS and architecture. TESSERA_BUNDLE_LANGS=eng,deu picks
# the languages.
bundle: install
	$(PYTHON) -m tools.bundle

clean:
	rm -rf $(VENV) data bench-data dist *.egg-info
