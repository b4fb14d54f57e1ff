"""Errors of the actor layer: what callers see instead of Ray's exceptions."""

from __future__ import annotations

from core.errors import ArbcastError


class ActorsError(ArbcastError):
    """Root of the actor layer's errors."""


class ActorUnavailableError(ActorsError):
    """The actor died or cannot be reached; Ray restarts it, so retrying shortly may succeed."""


class ActorTimeoutError(ActorsError):
    """The actor did not answer in time; it may be overloaded. Retry, or raise the timeout."""


class ActorCallError(ActorsError):
    """The actor raised while handling the call; the message carries its error."""
