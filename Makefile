# The two commands of the README. Each sets up what it needs first (scripts/bootstrap.sh).
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test bench

run:
	@scripts/bootstrap.sh
	.venv/bin/paperwire serve --demo

test:
	@scripts/bootstrap.sh --test
	@.venv/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; fi; exit $$rc

bench:
	@scripts/bootstrap.sh --test
	.venv/bin/python bench/quality_scifact.py
	.venv/bin/python bench/scale.py --sizes 10k
