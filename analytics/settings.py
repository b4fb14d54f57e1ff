"""`AnalyticsSettings` lives in `core` (settings are core's); re-exported here for analytics."""

from core.analytics_settings import AnalyticsSettings

__all__ = ["AnalyticsSettings"]
