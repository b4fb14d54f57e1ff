"""The words for domain values, in the current language: opportunity types, priorities, risk
levels, session and onboarding states. Plan names (Free, Basic, Premium...) are names and stay
as `Tier.label` in every language."""

from __future__ import annotations

from typing import Final

from core.models import OnboardingState, OpportunityType, Priority, RiskTolerance, SessionState
from messaging.i18n import N_, _

_TYPES: Final = {
    OpportunityType.ARBITRAGE: N_("Cross-exchange"),
    OpportunityType.FUNDING: N_("Funding rate"),
    OpportunityType.TECHNICAL: N_("Technical"),
}
_PRIORITY: Final = {
    Priority.HIGH: N_("high priority"),
    Priority.MEDIUM: N_("medium priority"),
    Priority.LOW: N_("low priority"),
}
_RISK: Final = {
    RiskTolerance.LOW: N_("low"),
    RiskTolerance.MEDIUM: N_("medium"),
    RiskTolerance.HIGH: N_("high"),
}
_STATE: Final = {
    SessionState.ACTIVE: N_("active"),
    SessionState.EXPIRED: N_("expired"),
    SessionState.TERMINATED: N_("terminated"),
}
_ONBOARDING: Final = {
    OnboardingState.PENDING: N_("not started"),
    OnboardingState.IN_PROGRESS: N_("in progress"),
    OnboardingState.SKIPPED: N_("skipped (finish any time with /settings)"),
    OnboardingState.COMPLETED: N_("completed"),
}


def type_label(kind: OpportunityType) -> str:
    return _(_TYPES[kind])


def priority_label(priority: Priority) -> str:
    """``high priority`` (as the card's first line says it)."""
    return _(_PRIORITY[priority])


def risk_label(risk: RiskTolerance) -> str:
    """``low`` / ``medium`` / ``high``, lower case (buttons capitalise it)."""
    return _(_RISK[risk])


def state_label(state: SessionState) -> str:
    return _(_STATE[state])


def onboarding_label(state: OnboardingState) -> str:
    return _(_ONBOARDING[state])
