# The two commands of the README. Each sets up what it needs first (scripts/bootstrap.sh).
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test bench lint format

run:
	@scripts/bootstrap.sh
	.venv/bin/paperwire serve --demo

# The house style is kept by ruff (configured in pyproject.toml): lint and format are checked after
# the tests, so a style slip fails the run without hiding the tests' results.
test:
	@scripts/bootstrap.sh --test
	@.venv/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; fi; \
	  $(MAKE) --no-print-directory lint || { echo "ruff: run 'make format' to fix the style" >&2; [ $$rc -ne 0 ] || rc=1; }; \
	  exit $$rc

lint:
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench:
	@scripts/bootstrap.sh --test
	.venv/bin/python bench/quality_scifact.py
	.venv/bin/python bench/scale.py --sizes 10k
