"""Great Expectations' import without the libraries that only unused expectations need.

GX imports its whole catalogue of expectations and metrics on `import great_expectations`. A few of
them import heavy libraries at module level and use them only when they run: scipy.stats (KL
divergence, two Kolmogorov-Smirnov p-values; ~1 CPU-s) and altair (the KL divergence's chart; ~0.5
CPU-s). No check of the gate runs them, and the import is paid in every process that runs the gate
(each night's gate worker, each test that validates). So these modules are imported as lazy modules
(the standard library's LazyLoader): a module's code runs on its first attribute access, so an
expectation that uses it still works, and a process that never does pays nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

# module -> a submodule its code imports, to tell whether that code has run
DEFERRED = {"scipy.stats": "scipy.stats._stats_py", "altair": "altair.vegalite"}


class _LazyModules(importlib.abc.MetaPathFinder):
    """Finds the deferred modules where the other finders do, and hands them over with a lazy loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in DEFERRED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def defer_unused_imports() -> None:
    """Import the DEFERRED modules lazily from now on in this process; idempotent, imports nothing."""
    if not any(isinstance(finder, _LazyModules) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LazyModules())


def loaded(module: str) -> bool:
    """Whether a deferred module's code has run."""
    return DEFERRED[module] in sys.modules
