"""Each module that declares tables imports on its own, in a fresh interpreter."""

import subprocess
import sys

import pytest

FIRST_IMPORTS = ["promotion.jobs", "record.audit", "record.promotions", "record.triggers",
                 "registry.probe"]


@pytest.mark.parametrize("module", FIRST_IMPORTS)
def test_a_module_imported_first_is_not_caught_in_a_cycle(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
