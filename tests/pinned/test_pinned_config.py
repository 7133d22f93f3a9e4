"""Contracts of :mod:`srtheory.spectral.config` left open by the other tests (found by mutation
testing, MUTATION.md): the refusal that names ``criteria`` given to a method other than power
iteration, and :func:`eig_solve` passing ``check_symmetry`` to whichever solver it runs."""

from __future__ import annotations

import numpy as np
import pytest

from srtheory.spectral import EigConfig, eig_solve


def test_criteria_given_to_another_method_is_named():
    with pytest.raises(ValueError, match=r"^EigConfig: criteria \(Algorithm 1 / 1b options\) need "
                                         r"method='power', got method='lanczos'$"):
        EigConfig(method="lanczos", criteria="residual")
    with pytest.raises(ValueError, match=r"^EigConfig: alpha, criteria \("):
        EigConfig(method="spectral_radius", alpha=0.5, criteria="residual")


# A = [[0, 0.5], [1, 0]] from e_1: the free probe sees |e_2.A e_1 - e_1.A e_2| / 1 = 0.5
_ASYM = np.array([[0.0, 0.5], [1.0, 0.0]])


@pytest.mark.parametrize("method", ["power", "lanczos", "spectral_radius"])
def test_eig_solve_runs_the_symmetry_probe_as_configured(method):
    """On (the default) the solver measures the asymmetry and refuses to call the run converged;
    off, no asymmetry is measured (``asymmetry is None``) and no note is written."""
    on = eig_solve(lambda x: _ASYM @ x, np.array([1.0, 0.0]), EigConfig(method=method, tol=1e-8))
    assert on.asymmetry is not None and on.asymmetry > 0.1 and not on.converged
    assert any(note.startswith("the operator is not symmetric: ") for note in on.notes)
    off = eig_solve(lambda x: _ASYM @ x, np.array([1.0, 0.0]),
                    EigConfig(method=method, tol=1e-8, check_symmetry=False))
    assert off.asymmetry is None
    assert not any(note.startswith("the operator is not symmetric: ") for note in off.notes)
