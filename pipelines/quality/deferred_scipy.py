"""Great Expectations' import without loading scipy.stats, which no check of the gate uses.

GX imports its whole catalogue of expectations and metrics on `import great_expectations`; three of
them (KL divergence, two Kolmogorov-Smirnov p-values) do `from scipy import stats` at module level
and use it only when they run. Loading scipy.stats costs ~1 CPU-s, in every process that runs the
gate (each night's gate worker, each test that validates). So scipy.stats is imported as a lazy
module (the standard library's LazyLoader): its code runs on first attribute access, so an
expectation that uses it still works, and a process that never does pays nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

STATS = "scipy.stats"


class _LazyScipyStats(importlib.abc.MetaPathFinder):
    """Finds scipy.stats where the other finders do, and hands it over with a lazy loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != STATS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def defer_scipy_stats() -> None:
    """Import scipy.stats lazily from now on in this process; idempotent, imports nothing."""
    if STATS not in sys.modules and not any(isinstance(f, _LazyScipyStats) for f in sys.meta_path):
        sys.meta_path.insert(0, _LazyScipyStats())


def scipy_stats_loaded() -> bool:
    """Whether scipy.stats' code has run (its main module is imported then)."""
    return "scipy.stats._stats_py" in sys.modules
