"""Memory of a torch computation on the CPU, measured as the benchmark measures it.

:func:`cpu_peak_bytes` is the CPU counterpart of ``torch.cuda.max_memory_allocated`` after
``torch.cuda.reset_peak_memory_stats``: it lets a test or a notebook count how many
parameter-sized vectors a method holds (``srtheory bench`` fills its peak-memory column with it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["cpu_peak_bytes"]


def cpu_peak_bytes(fn: Callable[[], object], /) -> int:
    """Peak live bytes of torch's CPU allocator while ``fn()`` runs, counting only what ``fn``
    allocates (the CPU counterpart of ``torch.cuda.max_memory_allocated`` after a reset).

    Runs ``fn`` in one profiling window with memory profiling on: torch's CPU allocator then
    reports every allocation and free to the profiler together with its running total of bytes
    allocated in the window; the maximum of that total is the peak.  Tensors that existed before
    the window are not counted (so ``fn`` should make the copies it works on).

    Raises:
        RuntimeError: this torch's profiler does not expose the allocation totals.
    """
    from torch.profiler import ProfilerActivity, profile

    try:
        from torch._C._profiler import _EventType

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            fn()
        peak = 0
        stack = list(prof.profiler.kineto_results.experimental_event_tree())
        while stack:
            node = stack.pop()
            if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu":
                peak = max(peak, node.extra_fields.total_allocated)
            stack.extend(node.children)
    except (AttributeError, ImportError) as exc:
        raise RuntimeError(f"torch {torch.__version__}'s profiler gives no allocation totals: {exc}") from exc
    return int(peak)
