"""The Mute button of an operations alert: a SuperAdmin silences that alert kind for
`ops.alert_mute_seconds` (for every SuperAdmin: the alert is about the system, not about them).
Anyone else is refused, and audited."""

from __future__ import annotations

from typing import Final

from aiogram import F, Router
from aiogram.types import CallbackQuery

from core.alerts.mutes import AlertMutes
from core.alerts.rules import AlertKind
from core.events import EventName
from core.models import UserSession
from core.services import Services
from messaging.i18n import _
from messaging.ui.callbacks import OpsAlertCB
from messaging.ui.ops_alerts import muted_text

router: Final = Router(name=__name__)


@router.callback_query(OpsAlertCB.filter(F.action == "mute"))
async def mute(
    query: CallbackQuery, callback_data: OpsAlertCB, services: Services, session: UserSession
) -> None:
    allowed = session.user_id in services.settings.superadmin_ids
    try:
        kind = AlertKind(callback_data.kind)
    except ValueError:
        await query.answer(_("This alert no longer exists: nothing to mute."))
        return
    if not allowed:
        services.emit(
            EventName.OPS_ALERT_MUTED,
            user_id=session.user_id,
            session_id=session.session_id,
            action=kind.value,
            allowed=False,
        )
        await query.answer(_("Only SuperAdmins can mute operations alerts."), show_alert=True)
        return
    until = await AlertMutes(services.redis, services.clock).mute(
        kind, services.settings.ops.alert_mute_seconds
    )
    services.emit(
        EventName.OPS_ALERT_MUTED,
        user_id=session.user_id,
        session_id=session.session_id,
        action=kind.value,
        allowed=True,
        until=until,
    )
    await query.answer(muted_text(kind, until))
