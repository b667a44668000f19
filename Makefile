# The two set-up commands of the README.
.PHONY: run test lint

run:
	scripts/prereqs.sh requirements.txt
	.venv/bin/python -m devstack run

test:
	scripts/prereqs.sh requirements-dev.txt
	.venv/bin/ruff check .
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check .
