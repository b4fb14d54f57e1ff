"""Domain models shared by the bot, the actors and analytics."""

from core.models.opportunity import Opportunity, OpportunityType, Priority
from core.models.session import OnboardingState, SessionState, UserSession
from core.models.user import Preferences, RiskTolerance, Tier, UserProfile

__all__ = [
    "OnboardingState",
    "Opportunity",
    "OpportunityType",
    "Preferences",
    "Priority",
    "RiskTolerance",
    "SessionState",
    "Tier",
    "UserProfile",
    "UserSession",
]
