"""The hypothesis strategies of the tests now ship with the package: :mod:`srtheory.testing.strategies`.

This module re-exports them so that ``from strategies import planted`` keeps working.
"""

from srtheory.testing.strategies import *  # noqa: F403
from srtheory.testing.strategies import GAPPED, KINDS, Planted  # noqa: F401
