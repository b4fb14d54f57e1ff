"""`Storage` lives in `core` (the market-data lake writes through it too); re-exported here for
analytics."""

from core.parquet_storage import TMP_PREFIX, TMP_SUFFIX, Storage

__all__ = ["TMP_PREFIX", "TMP_SUFFIX", "Storage"]
