"""Quality: the gate's Great Expectations checks, run in the night's worker process."""

from pipelines.quality.deferred_imports import defer_unused_imports

defer_unused_imports()  # before any module of this package imports Great Expectations
