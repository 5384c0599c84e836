"""ISP test fixtures."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _keep_numpy_print_options():
    """Importing colour-demosaicing (through colour) switches numpy to legacy="1.13" printing
    for the whole process, which breaks other modules' doctests run in the same worker."""
    options = np.get_printoptions()
    yield
    np.set_printoptions(**options)
