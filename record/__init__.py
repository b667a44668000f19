"""The record: every table, the session, the migrations; every feature sits above it.

Importing the package imports every table module, so the metadata (migrations) and the mapper
registry (relationships named by class) are complete whichever module a caller needs first."""

from record import (  # noqa: F401
    accounts,
    audit,
    checks,
    models,
    notifications,
    numbers,
    promotions,
    registry_access,
    signing_keys,
    triggers,
)
