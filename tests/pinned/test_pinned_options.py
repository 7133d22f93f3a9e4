"""Contracts of the training options and of srr_train that the other tests left open (found by
mutation testing, MUTATION.md): every option is stored as the checked plain Python value, an
invalid one is refused with a message that starts with the option's full name, and the documented
limits (``cv_eps >= 0``, ``min_epochs >= 0``, ``cv_window >= 2``) are the ones enforced."""

from __future__ import annotations

import numpy as np
import pytest

from srtheory.srr_step import Monitor, SRRConfig
from srtheory.training import EpochEnd, PrecondRefresh, Sampling


def _factory(x, batch):
    return lambda r: r


def test_options_are_stored_as_the_checked_python_numbers():
    """NumPy scalars come back as ``float``/``int``/``bool``: the options compare, print and
    serialise as plain numbers, whatever type the caller had at hand."""
    end = EpochEnd(cv_eps=np.float32(0.5), cv_window=np.int64(3), min_epochs=np.int64(4))
    assert (end.cv_eps, end.cv_window, end.min_epochs) == (0.5, 3, 4)
    assert (type(end.cv_eps), type(end.cv_window), type(end.min_epochs)) == (float, int, int)
    assert type(EpochEnd(min_epochs=np.int64(2)).min_epochs) is int
    refresh = PrecondRefresh(_factory, every=np.int64(5))
    assert refresh.every == 5 and type(refresh.every) is int
    s = Sampling(np.int64(8), draw="iid", per_epoch=np.int64(3))
    assert (s.size, s.per_epoch) == (8, 3) and (type(s.size), type(s.per_epoch)) == (int, int)
    cfg = SRRConfig(mu=np.float32(0.25), K=np.int64(2), eps=np.float32(0.5),
                    code_faithful=np.bool_(True), skip_nonconverged=np.bool_(False),
                    reset_on_failure=np.bool_(False))
    assert (cfg.mu, cfg.K, cfg.eps) == (0.25, 2.0, 0.5)
    assert {type(cfg.mu), type(cfg.K), type(cfg.eps)} == {float}
    assert (cfg.code_faithful, cfg.skip_nonconverged, cfg.reset_on_failure) == (True, False, False)
    flags = (cfg.code_faithful, cfg.skip_nonconverged, cfg.reset_on_failure)
    assert {type(b) for b in flags} == {bool}
    mon = Monitor(chatter_cos=np.float32(0.5), chatter_min=np.int64(2), warn=np.bool_(False),
                  progress=np.bool_(False))
    assert (mon.chatter_cos, mon.chatter_min, mon.warn, mon.progress) == (0.5, 2, False, False)
    assert (type(mon.chatter_cos), type(mon.chatter_min), type(mon.warn), type(mon.progress)) == (
        float, int, bool, bool)


def test_documented_limits_are_the_enforced_ones():
    """``cv_eps >= 0`` (0: stop only on a constant ``h``), ``min_epochs >= 0``, ``cv_window >= 2``,
    ``mu >= 0``, ``K >= 0``, ``chatter_cos`` in ``(0, 1]``."""
    assert EpochEnd(cv_eps=0.0, min_epochs=0).cv_eps == 0.0
    assert EpochEnd(cv_eps=0.1, cv_window=2).cv_window == 2
    assert EpochEnd(min_epochs=0).min_epochs == 0
    assert SRRConfig(mu=0.0, K=0.0).mu == 0.0
    assert Monitor(chatter_cos=1.0, chatter_min=1).chatter_cos == 1.0
    with pytest.raises(ValueError, match=r"^EpochEnd\.cv_window must be >= 2, got 1$"):
        EpochEnd(cv_eps=0.1, cv_window=1)
    with pytest.raises(ValueError, match=r"^EpochEnd\.min_epochs must be >= 0, got -1$"):
        EpochEnd(min_epochs=-1)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: EpochEnd(cv_eps=-1.0), "EpochEnd.cv_eps"),
        (lambda: EpochEnd(cv_eps=0.1, cv_window=1.5), "EpochEnd.cv_window"),
        (lambda: EpochEnd(min_epochs="3"), "EpochEnd.min_epochs"),
        (lambda: PrecondRefresh(_factory, every=0), "PrecondRefresh.every"),
        (lambda: Sampling(0), "Sampling.size"),
        (lambda: Sampling(4, draw="iid", per_epoch=0), "Sampling.per_epoch"),
        (lambda: SRRConfig(mu=-0.1), "SRRConfig.mu"),
        (lambda: SRRConfig(K=float("nan")), "SRRConfig.K"),
        (lambda: SRRConfig(eps=0.0), "SRRConfig.eps"),
        (lambda: SRRConfig(eig="power"), "SRRConfig.eig"),
        (lambda: SRRConfig(code_faithful=1), "SRRConfig.code_faithful"),
        (lambda: SRRConfig(skip_nonconverged="yes"), "SRRConfig.skip_nonconverged"),
        (lambda: SRRConfig(reset_on_failure=None), "SRRConfig.reset_on_failure"),
        (lambda: SRRConfig(mu=lambda k: -1.0).mu_at(3), r"mu\(3\)"),
        (lambda: Monitor(chatter_cos=0.0), "Monitor.chatter_cos"),
        (lambda: Monitor(chatter_cos=1.5), "Monitor.chatter_cos"),
        (lambda: Monitor(chatter_min=0), "Monitor.chatter_min"),
        (lambda: Monitor(warn=0), "Monitor.warn"),
        (lambda: Monitor(progress="no"), "Monitor.progress"),
        (lambda: SRRConfig(derivative="exact "), "SRRConfig.derivative"),
    ],
)
def test_a_bad_option_is_refused_naming_it_first(make, name):
    with pytest.raises(ValueError, match=rf"^{name.replace('.', chr(92) + '.')} "):
        make()
