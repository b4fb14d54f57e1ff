"""The analytics package's exceptions: one root, `AnalyticsError`, under `ArbcastError`."""

from __future__ import annotations

from core.errors import ArbcastError


class AnalyticsError(ArbcastError):
    """Something in the Parquet lake or its queries went wrong."""


class NoParquetError(AnalyticsError):
    """The lake holds no Parquet file yet: nothing to report on."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.root = root

    def __str__(self) -> str:
        return (
            f"no Parquet files under {self.root} yet: is a sink running "
            "(`arbcast analytics sink`, or run_sink in `arbcast run`)?"
        )


class QueryTimeoutError(AnalyticsError):
    """The queries took longer than allowed and were interrupted."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds

    def __str__(self) -> str:
        return (
            f"the queries took longer than {self.seconds:g} s and were stopped; "
            "try `arbcast analytics report` or the dashboard"
        )


class QueryFailedError(AnalyticsError):
    """DuckDB could not run the queries (an unreadable file, a bad schema, ...)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(cause)
        self.cause = cause

    def __str__(self) -> str:
        return f"{type(self.cause).__name__}: {self.cause}"[:300]
