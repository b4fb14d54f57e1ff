"""Sessions: the Redis store, the per-process cache, batched activity, expiry and the service."""

from core.sessions.service import SessionService, StartResult
from core.sessions.store import SessionStore

__all__ = ["SessionService", "SessionStore", "StartResult"]
