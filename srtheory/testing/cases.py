"""Run the conformance suite inside another project's pytest suite, one test per problem.

:func:`eigensolver_cases` and :func:`hvp_cases` are ``pytest.mark.parametrize`` decorators over the
catalogue (argument name ``problem``, test ids the problem names).  In a third-party project::

    import srtheory.testing as st

    @st.eigensolver_cases()
    def test_my_eigensolver(problem):
        st.check_eigensolver(my_solver, [problem], raise_=True)

pytest then reports ``test_my_eigensolver[negative_dominant]`` and so on, each failing with the
table row that says by how much.  pytest is imported only when a helper is called.
"""

from __future__ import annotations

import numpy as np

from srtheory.testing.problems import EIGEN_KINDS, eigen_problems, hvp_problems

__all__ = ["eigensolver_cases", "hvp_cases"]


def eigensolver_cases(*, dtype=np.float64, n: int = 40, seed: int = 0, kinds=EIGEN_KINDS,
                      argname: str = "problem"):
    """``pytest.mark.parametrize(argname, eigen_problems(...))`` with the problem names as ids."""
    import pytest

    problems = eigen_problems(n=n, seed=seed, dtype=dtype, kinds=kinds)
    return pytest.mark.parametrize(argname, problems, ids=[p.name for p in problems])


def hvp_cases(problems=None, *, argname: str = "problem"):
    """``pytest.mark.parametrize`` over HVP problems (default: the NumPy :func:`hvp_problems`;
    pass :func:`srtheory.torch.testing.hvp_problems` for torch)."""
    import pytest

    problems = hvp_problems() if problems is None else tuple(problems)
    return pytest.mark.parametrize(argname, problems, ids=[p.name for p in problems])
