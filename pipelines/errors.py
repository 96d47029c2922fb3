"""Errors an operator can act on: printed as one line, never as a traceback."""


class CpsError(Exception):
    """A failure with a one-line reason for the operator (bad input, failed gate, busy warehouse)."""


class QualityGateFailed(CpsError):
    """The night broke a critical expectation; the previous night stays published."""
