"""The one catalogue of event names: every event arbcast emits, and what it means.

An event's name says which analytics table it lands in (the part before the dot:
`analytics.schemas.TABLES`); the tables take their names and descriptions from here, and
`docs/analytics.md` lists the same. Emitters name events through `EventName`, never a string
literal, so `tests/core/test_event_catalogue.py` can hold all three in step: an emitted name
missing from this catalogue, a catalogue name nothing emits (unless it is `PLANNED`), or one
missing from the docs fails the suite.

Names are stored state (Parquet rows, reports, analysts' queries): never rename one; retire it
by leaving it out of new code and say so in its description.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final


class EventName:
    """Every emitted event name, grouped by the table it lands in."""

    SESSION_STARTED: Final = "session.started"
    SESSION_RESUMED: Final = "session.resumed"
    SESSION_EXPIRED: Final = "session.expired"
    SESSION_TERMINATED: Final = "session.terminated"
    SESSION_REMINDED: Final = "session.reminded"

    COMMAND: Final = "audit.command"
    CALLBACK: Final = "audit.callback"
    ADMIN_ACTION: Final = "audit.admin"
    BAD_UPDATE: Final = "audit.bad_update"
    OPS_ALERT: Final = "audit.ops_alert"
    OPS_ALERT_MUTED: Final = "audit.ops_alert_muted"

    ONBOARDING_STEP: Final = "onboarding.step"

    PREFERENCE_CHANGED: Final = "preferences.changed"

    VALIDATION: Final = "opportunity.validation"
    LIFECYCLE: Final = "opportunity.lifecycle"

    OPPORTUNITIES_SHOWN: Final = "distribution.shown"
    QUEUED: Final = "distribution.queued"
    REFRESHED: Final = "distribution.refreshed"
    HELD: Final = "distribution.held"
    RELEASED: Final = "distribution.released"
    EDIT: Final = "distribution.edit"
    ACCEPTED: Final = "distribution.accepted"
    REJECTED: Final = "distribution.rejected"
    SENT: Final = "distribution.sent"
    RETRIED: Final = "distribution.retried"
    FAILED: Final = "distribution.failed"
    DROPPED: Final = "distribution.dropped"

    DETAILS: Final = "engagement.details"
    FEEDBACK: Final = "engagement.feedback"
    MUTE_PAIR: Final = "engagement.mute_pair"
    MUTE_TYPE: Final = "engagement.mute_type"

    EXPERIMENT_ASSIGNED: Final = "experiment.assigned"
    EXPERIMENT_CONVERTED: Final = "experiment.converted"
    EXPERIMENT_EXPOSED: Final = "experiment.exposed"

    MARKET_SNAPSHOT: Final = "market.snapshot"

    PAYMENT_INVOICE: Final = "payment.invoice"
    PAYMENT_PRE_CHECKOUT: Final = "payment.pre_checkout"
    PAYMENT_SUCCEEDED: Final = "payment.succeeded"
    PAYMENT_DUPLICATE: Final = "payment.duplicate"
    PAYMENT_CANCELED: Final = "payment.canceled"
    PAYMENT_EXPIRED: Final = "payment.expired"
    PAYMENT_REFUNDED: Final = "payment.refunded"

    GROUP_BUTTON: Final = "groups.button"
    DEEPLINK_START: Final = "groups.deeplink_start"
    CHANNEL_LINKED: Final = "groups.channel_linked"
    GROUP_JOINED: Final = "groups.joined"
    GROUP_LEFT: Final = "groups.left"
    GROUP_SETTINGS: Final = "groups.settings"


E = EventName

CATALOGUE: Final[Mapping[str, str]] = MappingProxyType(
    {
        E.SESSION_STARTED: "A new session (on /start, or /start after expiry or logout)",
        E.SESSION_RESUMED: "/start while a session was active",
        E.SESSION_EXPIRED: "Ended by inactivity; carries the session's activity summary",
        E.SESSION_TERMINATED: "Ended by /logout or a block; carries the activity summary",
        E.SESSION_REMINDED: "Warned, about a day before expiry, that alerts stop with the "
        "session (queued to the outbox with a keep-my-session button)",
        E.COMMAND: "A command or text, allowed or refused by the session gate",
        E.CALLBACK: "A button press refused by the gate, or unknown callback data",
        E.ADMIN_ACTION: "A SuperAdmin command, or an attempt at one",
        E.BAD_UPDATE: "A malformed webhook body that was rejected",
        E.OPS_ALERT: "An operations alert sent to the SuperAdmins (action: the alert kind; "
        "value, threshold, admins)",
        E.OPS_ALERT_MUTED: "A SuperAdmin muted an operations alert kind (action: the kind; until)",
        E.ONBOARDING_STEP: "A step shown, answered, skipped, or onboarding completed",
        E.PREFERENCE_CHANGED: "A preference set in onboarding, /settings or /dnd",
        E.VALIDATION: "One decision of one validation level (figures in extra as f_<name>)",
        E.LIFECYCLE: "An opportunity opened, updated or closed",
        E.OPPORTUNITIES_SHOWN: "Shown on demand (/opportunities)",
        E.QUEUED: "Queued in a user's push queue (one row per opportunity)",
        E.REFRESHED: "An update refreshed an item still in the queue",
        E.HELD: "Held by Do Not Disturb or active hours (reason)",
        E.RELEASED: "Released by the queue for sending (reason: single, digest)",
        E.EDIT: "A sent message is to be edited (its opportunity closed)",
        E.ACCEPTED: "A rendered message accepted by the durable outbox",
        E.REJECTED: "Refused by an eligibility layer: one row per (opportunity, shard, reason), "
        "the number of users in `users` (rows before schema 2: `extra.count`)",
        E.SENT: "Delivered: `kind` send (a new message) or edit (a closed opportunity's "
        "message edited); `items` opportunities, `opportunity_id` the first, best one, every id "
        "in `opportunity_ids`; `type`, the recipient's `tier`; `detection_latency_ms` from "
        "detection (a delayed tier's delay included), `latency_ms` from the queue's release",
        E.RETRIED: "A send retried (429, network)",
        E.FAILED: "A send failed for good (blocked, ...)",
        E.DROPPED: "Dropped before sending (expired, cap, ...)",
        E.DETAILS: "Details pressed on an opportunity (the card shown, or refused by the plan)",
        E.FEEDBACK: "👍 or 👎 pressed on an opportunity (attrs: vote, up or down)",
        E.MUTE_PAIR: "'Mute pair' pressed on an opportunity (attrs: pair)",
        E.MUTE_TYPE: "'Mute type' pressed on an opportunity (attrs: type)",
        E.EXPERIMENT_ASSIGNED: "A user's variant of an experiment, recorded once, at the user's "
        "first exposure (experiment, variant: by hashing (experiment, user))",
        E.EXPERIMENT_CONVERTED: "A user reached the experiment's goal (not emitted: the "
        "experiments report counts Details presses, mutes and retention from their own tables)",
        E.EXPERIMENT_EXPOSED: "A digest proposed to a user in a running experiment, either "
        "variant (experiment, variant): the report's exposures",
        E.MARKET_SNAPSHOT: "A sampled order-book top of one exchange and symbol (not emitted "
        "yet: issue [4/8])",
        E.PAYMENT_INVOICE: "Buy pressed: a Stars invoice link made for a plan (tier, amount)",
        E.PAYMENT_PRE_CHECKOUT: "A pre-checkout query answered (ok; reason when refused; tier, "
        "amount)",
        E.PAYMENT_SUCCEEDED: "A successful_payment granted (tier, amount in Stars, charge_id, "
        "recurring: a renewal, paid_until): one row per charge, the revenue",
        E.PAYMENT_DUPLICATE: "A successful_payment whose charge was already granted (ignored)",
        E.PAYMENT_CANCELED: "The user cancelled their Stars subscription (no renewal; the tier "
        "stays until paid_until)",
        E.PAYMENT_EXPIRED: "A subscription lapsed (paid_until passed without renewal): "
        "outcome fell_back (to Free) or kept_tier (a SuperAdmin set another tier since)",
        E.PAYMENT_REFUNDED: "A SuperAdmin refunded a charge (tier, amount, charge_id, outcome)",
        E.GROUP_BUTTON: "A button pressed on a group's or channel's alert card (chat_id, "
        "chat_kind, button, opportunity_id; has_session; answer: private, pointer, refused (not in "
        "the presser's plan) or gone)",
        E.DEEPLINK_START: "/start with a group's or channel's link payload (source: group or "
        "channel, chat_id; action: started or resumed)",
        E.CHANNEL_LINKED: "A SuperAdmin linked or unlinked a channel (action, chat_id, allowed, "
        "admin_id; delay_s)",
        E.GROUP_JOINED: "The bot was added to a group, supergroup or channel, or re-added "
        "(chat_id, chat_kind, admin_id: who added it; action: added or readded), or a group "
        "was upgraded to a supergroup (action: migrated, from_chat_id: the old id)",
        E.GROUP_LEFT: "The bot was removed from a group or channel (chat_id, chat_kind, "
        "action: left or kicked; its settings are kept, inactive)",
        E.GROUP_SETTINGS: "/group_settings or its menu used in a group (chat_id, action: "
        "what was opened or changed, allowed; a non-admin's attempt is allowed=false, "
        "answer: not_admin; a typed value refused: answer bad_value)",
    }
)

# Declared for the reports that read their tables, but nothing emits them yet.
PLANNED: Final = frozenset({E.EXPERIMENT_CONVERTED, E.MARKET_SNAPSHOT})


def names_of_table(table: str) -> dict[str, str]:
    """The catalogue's names (and descriptions) that land in `table`, in catalogue order."""
    return {n: d for n, d in CATALOGUE.items() if n.split(".", 1)[0] == table}
