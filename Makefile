# The two commands of the README:
#   make demo   set up .venv if needed, then run the main job on the shipped default
#   make test   set up .venv if needed, then run the test suite
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: install demo test bench clean-venv

install:
	bash scripts/setup_env.sh

demo: install
	$(PY) scripts/demo.py

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) scripts/benchmark_net.py

clean-venv:
	rm -rf .venv
