"""Quality: the gate's Great Expectations checks, run in the night's worker process."""

from pipelines.quality.deferred_scipy import defer_scipy_stats

defer_scipy_stats()  # before any module of this package imports Great Expectations
