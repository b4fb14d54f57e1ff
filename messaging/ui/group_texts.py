"""Every text the bot writes in a group: joining, /help and /start there, and the admins'
/group_settings menu. None of them carries a member's personal data."""

from __future__ import annotations

from html import escape

from core.groups.models import GroupConfig
from core.models import OpportunityType, Tier
from messaging.i18n import N_, _
from messaging.ui.labels import type_label

JOINED = N_(
    "👋 Hi! I post crypto-arbitrage alerts: cross-exchange spreads and funding rates, as they "
    "open.\n\nNothing is posted until a group admin turns alerts on with /group_settings "
    "(alert types, pairs, minimum profit, how often, quiet hours and the topic). "
    "Members get their own alerts in a private chat with me: /start@{bot}."
)
READDED_ENABLED = N_(
    "👋 I'm back. Alerts resume with the settings your admins chose; /group_settings changes them."
)
NOT_ADMIN = N_(
    "🔒 Only this group's admins can change its alert settings. Ask one of them, or get your own "
    "alerts in a private chat with me."
)
NOT_ADMIN_BUTTON = N_("🔒 Only the group's admins can change these settings.")
CANT_CHECK = N_(
    "⚠️ I couldn't check with Telegram whether you are an admin here. Try again in a minute."
)
STORE_DOWN = N_("⚠️ I can't reach my settings store right now. Try again in a minute.")
NOT_KNOWN = N_(
    "I don't know this group yet: remove me and add me again, so that I can keep its settings."
)
MENU_CLOSED = N_("Settings saved. /group_settings opens them again.")
SAVED = N_("Saved.")
KEEP_ONE_TYPE = N_("Keep at least one type, or pause the alerts.")
TOPIC_NOT_FORUM = N_("This group has no topics.")
START_IN_GROUP = N_(
    "👋 Your own alerts live in a private chat with me: {link}. I don't start anything here."
)
PRIVATE_LINK = N_("open a private chat")
SETTINGS_IN_PRIVATE = N_(
    "/group_settings works in a group: send it there, as one of the group's admins, after "
    "adding me to it."
)
ARGS_USAGE = N_(
    "Type a value after the command:\n"
    "<code>/group_settings profit 0.5</code> — minimum profit, %\n"
    "<code>/group_settings digest 10</code> — minutes between digests (0: each at once; "
    "<code>digest default</code>: the usual windows)\n"
    "<code>/group_settings quiet 22-8</code> or <code>quiet off</code> — quiet hours\n"
    "<code>/group_settings tz Europe/Moscow</code> — the group's time zone\n"
    "<code>/group_settings pairs BTC/USDT ETH/USDT</code> or <code>pairs all</code>"
)
BAD_PROFIT = N_("The minimum profit is a number of percent from 0 to 20, e.g. 0.5.")
BAD_DIGEST = N_("How often is a number of minutes from 0 (the default) to 1440, e.g. 10.")
BAD_QUIET = N_("Quiet hours are two hours, start-end, e.g. 22-8, or off.")
BAD_TZ = N_("I don't know that time zone: try an IANA name such as Europe/Moscow, or UTC+3.")
BAD_PAIRS = N_("Pairs look like BTC/USDT; separate several with spaces, or say all.")

# Buttons
B_ENABLE = N_("▶️ Turn alerts on")
B_PAUSE = N_("⏸ Pause alerts")
B_TYPES = N_("🧩 Types")
B_PROFIT = N_("📈 Minimum profit")
B_DIGEST = N_("⏱ How often")
B_QUIET = N_("🌙 Quiet hours")
B_TOPIC_HERE = N_("📌 Post in this topic")
B_TOPIC_GENERAL = N_("📌 Post in General")
B_BACK = N_("⬅️ Back")
B_DONE = N_("✅ Done")
B_OFF = N_("Off")
B_DEFAULT = N_("Default")
B_INSTANT = N_("Each at once")


def joined(bot_username: str | None) -> str:
    return _(JOINED).format(bot=escape(bot_username or "me"))


def private_link(url: str | None) -> str:
    if url is None:
        return _("tap my name, then Start")
    return f'<a href="{escape(url)}">{_(PRIVATE_LINK)}</a>'


def start_in_group(url: str | None) -> str:
    return _(START_IN_GROUP).format(link=private_link(url))


def digest_label(seconds: float | None) -> str:
    if seconds is None:
        return _("the default windows")
    if seconds == 0:
        return _("each alert at once")
    return _("a digest every {minutes} min").format(minutes=f"{seconds / 60:g}")


def quiet_label(hours: tuple[int, int] | None) -> str:
    if hours is None or hours[0] == hours[1] % 24:
        return _("none")
    return f"{hours[0]:02d}:00–{hours[1] % 24:02d}:00"


def menu(config: GroupConfig, tier: Tier, allowed: frozenset[OpportunityType]) -> str:
    """The settings menu's text: every choice of the group, and whose plan it has."""
    state = _("🟢 on") if config.enabled else _("⏸ off")
    types = ", ".join(type_label(t) for t in sorted(config.opportunity_types & allowed)) or _(
        "none"
    )
    pairs = ", ".join(sorted(config.pairs)) if config.pairs else _("all pairs")
    if not config.is_forum:
        topic = _("this chat")
    elif config.thread_id is None:
        topic = _("General")
    else:
        topic = _("topic #{thread}").format(thread=config.thread_id)
    return _(
        "<b>⚙️ Group alerts — {title}</b>\n"
        "Alerts: {state}\n"
        "Plan: {plan}\n"
        "Types: {types}\n"
        "Pairs: {pairs}\n"
        "Minimum profit: {profit}%\n"
        "How often: {digest}\n"
        "Quiet hours: {quiet} ({tz})\n"
        "Posted in: {topic}\n\n"
        "Only admins can change these. Typed values: /group_settings help"
    ).format(
        title=escape(config.title or str(config.chat_id)),
        state=state,
        plan=escape(tier.label),
        types=escape(types),
        pairs=escape(pairs),
        profit=f"{config.min_profit_pct:g}",
        digest=digest_label(config.digest_window_seconds),
        quiet=quiet_label(config.quiet_hours),
        tz=escape(config.timezone),
        topic=topic,
    )
