"""Test configuration: hypothesis profiles, float64 everywhere, GPU tests skip without CUDA.

Profile is chosen by ``SRTHEORY_HYPOTHESIS_PROFILE`` (``ci`` by default when ``CI`` is set,
``dev`` otherwise); ``nightly`` runs many more examples.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    max_examples=30,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.register_profile(
    "nightly", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("SRTHEORY_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def rng():
    """A fresh, seeded generator per test: randomness is always an explicit argument."""
    return np.random.default_rng(20210222)


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    cuda = False
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:  # torch is an optional extra
        pass
    if cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (marker 'gpu'); none present")
    for item in gpu_items:
        item.add_marker(skip)
