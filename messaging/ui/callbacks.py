"""Typed callback data of every inline button (packed to at most 64 bytes, as Telegram allows)."""

from __future__ import annotations

from typing import Final

from aiogram.filters.callback_data import CallbackData


class OnboardingCB(CallbackData, prefix="ob"):
    step: str
    value: str


class SettingsCB(CallbackData, prefix="set"):
    action: str
    value: str = ""


class OpportunityCB(CallbackData, prefix="op"):
    action: str  # details | mute_pair | mute_type | up | down
    opportunity_id: str


class SessionCB(CallbackData, prefix="sess"):
    action: str  # keep: the reminder's "keep my session"; logout | stay: /logout's confirmation


class OpsAlertCB(CallbackData, prefix="ops"):
    action: str  # mute: silence this alert kind for ops.alert_mute_seconds
    kind: str  # core.alerts.rules.AlertKind


class PlanCB(CallbackData, prefix="plan"):
    action: str  # buy: an invoice link for `tier`; cancel: stop renewing the Stars subscription
    tier: str = ""


class GroupSettingsCB(CallbackData, prefix="gs"):
    action: str  # page | on | off | type | profit | digest | quiet | topic | close
    value: str = ""


class GroupCardCB(CallbackData, prefix="grp"):
    action: str  # details: a group's or channel's alert card (bot/handlers/group_buttons.py)
    opportunity_id: str


# Every prefix our keyboards use; data with another prefix is not ours.
PREFIXES: Final[frozenset[str]] = frozenset(
    cb.__prefix__
    for cb in (
        OnboardingCB,
        SettingsCB,
        OpportunityCB,
        SessionCB,
        OpsAlertCB,
        PlanCB,
        GroupSettingsCB,
        GroupCardCB,
    )
)
