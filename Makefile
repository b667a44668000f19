# The two set-up commands of the README.
.PHONY: run test lint

run:
	scripts/prereqs.sh requirements.txt
	.venv/bin/python -m devstack run

# Ruff, the import contracts (pyproject.toml: layers, no cycles), the whole suite on SQLite,
# then everything that touches a database again on PostgreSQL (tests marked `once` do not
# depend on the database and run in the first pass only).
test:
	scripts/prereqs.sh requirements-dev.txt
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/python -m pytest
	LOCKMASTER_TEST_DATABASE=postgresql .venv/bin/python -m pytest -m 'not once' tests/integration tests/e2e

lint:
	.venv/bin/ruff check .
	.venv/bin/lint-imports
