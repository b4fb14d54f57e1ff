"""Writing preferences: one field per write, each change a ``preferences.changed`` event.

Onboarding, /dnd and the settings screens all save through these, so every change is recorded
the same way whichever screen made it.
"""

from __future__ import annotations

from core.events import EventName
from core.models import OpportunityType, UserSession
from core.profiles import ListPreference, PreferenceUpdate
from core.services import Services


def emit_change(
    services: Services, session: UserSession, field: str, value: str, *, source: str | None = None
) -> None:
    attrs: dict[str, str | None] = {"field": field, "value": value}
    if source is not None:
        attrs["source"] = source
    services.emit(
        EventName.PREFERENCE_CHANGED, attrs, user_id=session.user_id, session_id=session.session_id
    )


async def save_preferences(
    services: Services,
    session: UserSession,
    update: PreferenceUpdate,
    *,
    source: str | None = None,
) -> None:
    """Write the changed preferences in one write and record each change under its name."""
    saved = await services.profiles.update(session.user_id, **update)
    for name, value in saved.items():
        emit_change(services, session, name, value, source=source)


async def save_member(
    services: Services,
    session: UserSession,
    name: ListPreference,
    member: str,
    add: bool,
    *,
    source: str | None = None,
) -> frozenset[str]:
    """Add or remove one member of a list preference atomically; returns the new list."""
    new = await services.profiles.change_member(
        session.user_id, name, member, "add" if add else "remove"
    )
    emit_change(services, session, name, ",".join(sorted(new)), source=source)
    return new


async def save_type(
    services: Services,
    session: UserSession,
    kind: OpportunityType,
    add: bool,
    *,
    source: str | None = None,
    plan_types: frozenset[OpportunityType] = frozenset(),
) -> bool:
    """Turn one opportunity type on or off; False (and nothing changed) if it was the last one,
    or the last of `plan_types` (a plan's types can't all be deselected)."""
    new = await services.profiles.change_member(
        session.user_id,
        "opportunity_types",
        kind.value,
        "add" if add else "remove",
        keep_one=True,
        keep_one_of=[t.value for t in plan_types],
    )
    if not add and kind.value in new:  # the last type: refused, nothing changed
        return False
    emit_change(services, session, "opportunity_types", ",".join(sorted(new)), source=source)
    return True
