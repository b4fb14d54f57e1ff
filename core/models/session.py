"""The user session of the design's "Active Session Definition"."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class SessionState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class OnboardingState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SKIPPED = "skipped"
    COMPLETED = "completed"


class UserSession(BaseModel):
    """One session of one Telegram user; a user has at most one current session."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    user_id: int
    state: SessionState
    created_at: float
    last_activity: float
    expires_at: float
    onboarding: OnboardingState = OnboardingState.PENDING
    commands_used: int = 0
    opportunities_received: int = 0

    def is_active(self, now: float) -> bool:
        """Created, not terminated and not past its expiry, whatever the sweeper did yet."""
        return self.state is SessionState.ACTIVE and now < self.expires_at

    @property
    def length_seconds(self) -> float:
        return self.last_activity - self.created_at
