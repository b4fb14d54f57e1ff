"""The root of every error arbcast raises on purpose, with small specific subclasses.

Messages say what to do, not only what went wrong.
"""

from __future__ import annotations


class ArbcastError(Exception):
    """Root of arbcast's own errors; catch this to catch them all."""


class ConfigError(ArbcastError):
    """A setting is missing or malformed. The message names the variable to set."""


class StoreUnavailableError(ArbcastError):
    """Redis did not answer. Check that it runs and that REDIS_URL points at it."""


class RedisLaunchError(StoreUnavailableError):
    """The embedded redis-server could not be started."""
