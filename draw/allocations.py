"""The engine manages its own allocations: the cyclic collector is paused while it builds
large pools (issue #30).

A draw allocates millions of small objects, none of them cyclic; with the collector on,
allocation-triggered collections rescan the growing object graph and cost more than the draw
(docs/benchmarks.md). Callers need not turn the collector off: the engine's heavy entry points
do so themselves and restore the caller's setting afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def own_allocations() -> Iterator[None]:
    """Pause the cyclic collector for the block; restore the caller's setting afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def owning_allocations(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a function so that it runs under `own_allocations`."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with own_allocations():
            return function(*args, **kwargs)

    return wrapper
