"""Groups and channels end to end (issue 16): the bot (polling the emulator over HTTP), real Redis,
the push pipeline on Ray (distributor, shards, outbox, sender) and the channel broadcaster, as
`arbcast run` wires them; the groups report read by DuckDB from the Parquet the sink writes.

The story, printed as a transcript (and written to $ARBCAST_GROUPS_TRANSCRIPT when set):
1. a forum supergroup adds the bot; a member who is not an admin is refused /group_settings;
   the owner turns alerts on from the menu, with a 10-minute digest, into the Alerts topic: the
   group then has the owner's plan (Premium) and gets two types (spreads and funding; technical
   signals are private-only): HIGH ones at once, a MEDIUM one waits in the group's queue;
2. members press Details: one with a session gets it in private, one without is pointed to
   /start by a deep link, which they follow (counted);
3. a SuperAdmin links a channel (a plain admin may not): public opportunities reach it only after
   the channel's delay, with a "get them live" link, which a reader follows (counted);
4. the bot is removed (the group's alerts stop, its settings stay) and added back (they resume);
5. the per-group report beside a count made from the emulator's side.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from analytics.duck import connect
from analytics.reports import run_report
from analytics.settings import AnalyticsSettings
from analytics.sink import ParquetSink
from analytics.storage import Storage
from arbcast.consumers.distributor import GROUP as DISTRIBUTOR_GROUP
from arbcast.runtime import Runtime
from core.groups.deeplinks import start_payload
from core.groups.store import GroupStore
from core.models import Opportunity, OpportunityType, Priority
from core.opportunity_store import OpportunityStore
from core.settings import Settings
from core.store import keys
from messaging.ui.callbacks import GroupSettingsCB
from tests.analytics import groups_oracle
from tests.analytics.oracles import raw_events
from tests.arbcast.conftest import DELIVERY, TOKEN, WINDOW
from tests.arbcast.test_ops_listener import free_port
from tests.helpers import eventually

# Where the transcript is also written (it is always printed: pytest -s shows it).
TRANSCRIPT = os.environ.get("ARBCAST_GROUPS_TRANSCRIPT", "")
G, C = -1001700000001, -1001700000002
CHANNEL_NAME = "arbnews_e2e"
OWNER, MEMBER, NEWCOMER, OUTSIDER, SUPER, READER = 71001, 71002, 71003, 71004, 71005, 71006
CHANNEL_DELAY_S = 6.0  # /link_channel ... 0.1 (minutes)
T = 60.0  # long-poll timeout for anything the pipeline does


class Emu:
    """The emulator's control API, as the test's people use it."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url, self.http = url, http

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        payload = {"bot_token": TOKEN, **(body or {})}
        async with self.http.request(method, f"{self.url}{path}", json=payload) as resp:
            data = await resp.json()
            assert resp.status == 200, (path, data)
            return data

    async def say(self, user: int, text: str, **extra: Any) -> Any:
        body = {"text": text, "first_name": f"U{user}", "wait": True, "timeout": T, **extra}
        return await self.call("POST", f"/emulator/users/{user}/messages", body)

    async def press(self, user: int, chat: int, message_id: int, data: str) -> Any:
        body = {"message_id": message_id, "data": data, "chat_id": chat, "wait": True}
        return await self.call("POST", f"/emulator/users/{user}/callbacks", {**body, "timeout": T})

    async def bot_status(self, chat: int, by: int, status: str) -> Any:
        body = {"user_id": by, "status": status, "wait": True, "timeout": T}
        return await self.call("POST", f"/emulator/chats/{chat}/bot_status", body)

    async def messages(self, chat: int, at_least: int = 0) -> list[dict[str, Any]]:
        q = f"?bot_token={TOKEN}&min_count={at_least}&timeout={T}"
        async with self.http.get(f"{self.url}/emulator/chats/{chat}/messages{q}") as resp:
            data = await resp.json()
            assert resp.status == 200, data
            return list(data)

    async def answers(self, chat: int, at_least: int = 0) -> list[dict[str, Any]]:
        q = f"?bot_token={TOKEN}&min_count={at_least}&timeout={T}"
        async with self.http.get(f"{self.url}/emulator/chats/{chat}/callback_answers{q}") as resp:
            data = await resp.json()
            assert resp.status == 200, data
            return list(data)

    async def stats(self) -> dict[str, Any]:
        async with self.http.get(f"{self.url}/emulator/stats") as resp:
            data: dict[str, Any] = await resp.json()
            return data


def _settings(tmp_path: Path, emulator_url: str, redis_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        telegram={"api_base": emulator_url, "polling_timeout_seconds": 1},  # type: ignore[arg-type]
        ray={"namespace": "arbcast-tests"},  # type: ignore[arg-type]
        shards=2,
        superadmin_ids=frozenset({SUPER}),
        distribution={  # type: ignore[arg-type]
            "medium_window_seconds": WINDOW,
            "low_window_seconds": WINDOW,
            "tick_seconds": 0.2,
            "delivery": DELIVERY,
        },
        # Premium's 10-minute push cooldown would make this story last an hour: none here.
        tiers={"premium": {"push_cooldown_seconds": 0}},  # type: ignore[dict-item]
        groups={"channel_interval_seconds": 0.25, "channel_per_minute": 5},  # type: ignore[arg-type]
        ops={"listen_port": free_port()},  # type: ignore[arg-type]
        analytics={"run_sink": False, "run_rollups": False},  # type: ignore[arg-type]
        personalisation={"run_learner": False},  # type: ignore[arg-type]
    )


def _opp(
    oid: str, kind: OpportunityType, priority: Priority, symbol: str = "BTC/USDT"
) -> Opportunity:
    now = time.time()
    return Opportunity(
        opportunity_id=oid,
        type=kind,
        symbol=symbol,
        buy_exchange="binance",
        sell_exchange="okx",
        buy_price=100.0,
        sell_price=100.6,
        net_spread_pct=0.6,
        expected_profit_pct=0.6,
        confidence=0.9,
        priority=priority,
        detected_at=now,
        updated_at=now,
        expires_at=now + 1800,
        recommended_position_usd=5000.0,
        position_usd_medium=4321.0,
    )


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def _card_ids(message: dict[str, Any]) -> list[str]:
    """The opportunities a group/channel card carried when sent (its Details buttons; a card
    edited as closed has none left, its first version does)."""
    sent = message["edits"][0] if message.get("edits") else message
    return [
        b["callback_data"].split(":", 2)[2]
        for b in _buttons(sent)
        if str(b.get("callback_data", "")).startswith("grp:details:")
    ]


def _cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if _card_ids(m)]


async def _distributed(redis: Any) -> bool:
    """Every opportunity change so far was taken by every shard (the distributor acknowledged
    it only then)."""
    [last] = await redis.xrevrange(keys.OPPORTUNITY_CHANGES, count=1)
    for g in await redis.xinfo_groups(keys.OPPORTUNITY_CHANGES):
        if g["name"] == DISTRIBUTOR_GROUP:
            done = tuple(map(int, g["last-delivered-id"].split("-")))
            return g["pending"] == 0 and done >= tuple(map(int, last[0].split("-")))
    return False


async def test_a_group_and_a_channel_live_through_the_emulator(
    ray_instance: None,
    redis: Any,
    redis_url: str,
    emulator_url: str,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    """The closing note's story (module doc), each step checked from the emulator's side; the
    groups report equals both the emulator's count and an independent count over the lake."""
    lines: list[str] = []

    def log(text: str = "") -> None:
        lines.append(text)

    emu = Emu(emulator_url, http)
    await emu.call("POST", "/emulator/reset")
    settings = _settings(tmp_path, emulator_url, redis_url)
    groups = GroupStore(redis)
    opps = OpportunityStore(redis, ttl=1800)
    try:
        async with Runtime(settings, start_engine=False) as rt:
            polling = asyncio.create_task(rt.run_polling())
            try:
                await _story(emu, rt, redis, groups, opps, log)
            finally:
                if rt.poller is not None:
                    rt.poller.stop()
                await asyncio.wait_for(polling, T)
        await _report(emu, redis, tmp_path, log)
    finally:
        text = "\n".join(lines) + "\n"
        print(text)
        if TRANSCRIPT:
            _write(Path(TRANSCRIPT), text)


async def _story(
    emu: Emu,
    rt: Runtime,
    redis: Any,
    groups: GroupStore,
    opps: OpportunityStore,
    log: Callable[[str], None],
) -> None:
    log("== 1. A forum supergroup adds the bot ==")
    await emu.call(
        "POST",
        "/emulator/chats",
        {
            "chat_id": G,
            "type": "supergroup",
            "title": "Arb Traders",
            "is_forum": True,
            "owner": OWNER,
            "members": [MEMBER, NEWCOMER, OUTSIDER],
        },
    )
    thread = (await emu.call("POST", f"/emulator/chats/{G}/topics", {"name": "Alerts"}))[
        "message_thread_id"
    ]
    for user in (OWNER, MEMBER, SUPER):
        await emu.say(user, "/start")
    await emu.say(SUPER, f"/settier {OWNER} premium")
    await emu.say(SUPER, f"/settier {MEMBER} premium")
    log(
        f"owner {OWNER}, member {MEMBER}: private sessions, Premium "
        f"(/settier by SuperAdmin {SUPER})"
    )
    await emu.bot_status(G, OWNER, "administrator")
    [hello] = await emu.messages(G, 1)
    log(f"bot added to {G} 'Arb Traders' by the owner; it posts:\n  {hello['plain_text']!r}")
    config = await groups.get(G)
    assert config is not None and config.active and not config.enabled

    log("\n== 2. A non-admin asks for /group_settings ==")
    await emu.say(OUTSIDER, "/group_settings", chat_id=G)
    refusal = (await emu.messages(G, 2))[-1]
    log(f"member {OUTSIDER} (not an admin): bot replies {refusal['plain_text']!r}")
    assert "admins" in refusal["plain_text"]
    assert not (await groups.get(G) or config).enabled

    log("\n== 3. The owner enables alerts: two types, a 10-minute digest, the Alerts topic ==")
    await emu.say(OWNER, "/group_settings", chat_id=G, message_thread_id=thread)
    menu = (await emu.messages(G, 3))[-1]
    log(f"owner's /group_settings in topic {thread}: the menu\n  {menu['plain_text']!r}")
    for action, value in (("on", ""), ("page", "types"), ("digest", "600"), ("topic", str(thread))):
        data = GroupSettingsCB(action=action, value=value).pack()
        await emu.press(OWNER, G, menu["message_id"], data)
        if action == "page":
            shown = [b["text"] for b in _buttons((await emu.messages(G))[-1]) if "type" in str(b)]
            log(f"  pressed {data}: the types page offers {shown}")
        else:
            log(f"  pressed {data}")
    menu_now = next(m for m in await emu.messages(G) if m["message_id"] == menu["message_id"])
    log(f"  the menu now reads\n  {menu_now['plain_text']!r}")
    config = await groups.get(G)
    assert config is not None and config.receives_pushes
    assert (config.enabled_by, config.digest_window_seconds, config.thread_id) == (
        OWNER,
        600,
        thread,
    )
    allowed = sorted(t.value for t in config.opportunity_types & rt.settings.groups.group_types)
    assert allowed == ["arbitrage", "funding"]
    log(f"stored: enabled by {OWNER} (plan Premium), types {allowed}, digest 600 s, topic {thread}")

    log("\n== 4. Opportunities: the group gets its two types, at once for HIGH, in its topic ==")
    before = len(await emu.messages(G))
    a1 = _opp("e2e-a1", OpportunityType.ARBITRAGE, Priority.HIGH)
    f1 = _opp("e2e-f1", OpportunityType.FUNDING, Priority.HIGH, "ETH/USDT")
    t1 = _opp("e2e-t1", OpportunityType.TECHNICAL, Priority.HIGH, "SOL/USDT")
    m1 = _opp("e2e-m1", OpportunityType.FUNDING, Priority.MEDIUM, "XRP/USDT")
    await opps.apply(opened=[a1, f1, t1, m1])
    got = _cards((await emu.messages(G, before + 2))[before:])
    assert sorted(i for m in got for i in _card_ids(m)) == ["e2e-a1", "e2e-f1"]
    for m in got:
        assert m["message_thread_id"] == thread
        assert "U71001" not in m["plain_text"] and "4,321" not in m["plain_text"]
        log(f"  group card in topic {m['message_thread_id']}: {m['plain_text'].splitlines()[:2]}")
    await eventually(lambda: _distributed(redis), timeout=T, what="the changes distributed")
    queue = json.loads(await redis.get(keys.user_queue(G)) or "{}")
    pending = {p["opportunity_id"]: p["due_at"] - p["queued_at"] for p in queue.get("pending", [])}
    assert pending.keys() == {"e2e-m1"} and pending["e2e-m1"] >= 599
    log(
        "  MEDIUM e2e-m1 waits in the group's queue for its digest: due in "
        f"{pending['e2e-m1']:.0f} s"
    )
    await eventually(
        lambda: _recipient(redis, "e2e-t1", OWNER), timeout=T, what="e2e-t1 released to the owner"
    )
    assert str(G) not in await redis.smembers(keys.recipients("e2e-t1"))
    log("  technical e2e-t1: private-only, never offered to the group (the owner got it privately)")
    card = next(m for m in got if "e2e-f1" in _card_ids(m))

    log("\n== 5. Members press Details on the group's card ==")
    answered = len(await emu.answers(G))
    await emu.press(MEMBER, G, card["message_id"], "grp:details:e2e-f1")
    await emu.press(NEWCOMER, G, card["message_id"], "grp:details:e2e-f1")
    with_session, without = (await emu.answers(G, answered + 2))[-2:]
    # The member also gets pushes in private: the details are the message without buttons.
    [details] = [
        m for m in await emu.messages(MEMBER) if "ETH/USDT" in m["plain_text"] and not _buttons(m)
    ]
    log(
        f"  {MEMBER} (session): answer {with_session['text']!r}; in private: "
        f"{details['plain_text'].splitlines()[0]!r}"
    )
    assert with_session["url"] is None
    log(f"  {NEWCOMER} (no session): answer {without['text']!r}, opens {without['url']}")
    assert without["url"].endswith(f"start={start_payload('group', G)}")
    assert await emu.messages(NEWCOMER) == []  # nothing sent, no session opened silently
    await emu.say(NEWCOMER, f"/start {start_payload('group', G)}")
    log(
        f"  {NEWCOMER} follows it: /start {start_payload('group', G)} -> "
        f"{(await emu.messages(NEWCOMER, 1))[0]['plain_text'].splitlines()[0]!r}"
    )

    log("\n== 6. A SuperAdmin links a channel; public alerts reach it after its delay ==")
    await emu.call(
        "POST",
        "/emulator/chats",
        {
            "chat_id": C,
            "type": "channel",
            "title": "Arb News",
            "username": CHANNEL_NAME,
            "owner": SUPER,
            "members": [MEMBER, READER],
        },
    )
    await emu.bot_status(C, SUPER, "administrator")
    await emu.say(OWNER, f"/link_channel @{CHANNEL_NAME} 0.1")
    refused = await _reply(emu, OWNER, "administrators only")
    log(f"  owner (not a SuperAdmin) /link_channel: {refused!r}")
    assert await groups.channel_ids() == []
    await emu.say(SUPER, f"/link_channel @{CHANNEL_NAME} 0.1")
    linked = await _reply(emu, SUPER, "Linked")
    log(f"  SuperAdmin /link_channel @{CHANNEL_NAME} 0.1: {linked!r}")
    assert await groups.channel_ids() == [C]
    f2 = _opp("e2e-f2", OpportunityType.FUNDING, Priority.HIGH, "DOGE/USDT")
    await opps.apply(opened=[f2])
    posts = _cards(await emu.messages(C, 3))
    posted = sorted(i for m in posts for i in _card_ids(m))
    assert posted == ["e2e-f1", "e2e-f2", "e2e-m1"]  # funding only: no spread, no technical
    f2_post = next(m for m in posts if "e2e-f2" in _card_ids(m))
    late = f2_post["date"] - f2.detected_at
    assert late >= CHANNEL_DELAY_S - 1, late  # the emulator's date is whole seconds
    live = [b["url"] for b in _buttons(f2_post) if b.get("url")]
    log(
        f"  channel posts: {posted}; e2e-f2 posted {late:.0f} s after detection (delay "
        f"{CHANNEL_DELAY_S:.0f} s), link {live}"
    )
    assert live and live[0].endswith(f"start={start_payload('channel', C)}")
    await emu.say(READER, f"/start {start_payload('channel', C)}")
    log(f"  reader {READER} follows it: /start {start_payload('channel', C)}")
    await emu.press(MEMBER, C, f2_post["message_id"], "grp:details:e2e-f2")
    log(
        f"  {MEMBER} presses Details on the channel post: {(await emu.answers(C, 1))[-1]['text']!r}"
    )
    closed = f2.model_copy(update={"closed": True, "updated_at": time.time()})
    await opps.apply(closed=[closed])
    for chat in (C, G):
        await eventually(
            lambda chat=chat: _closed_card(emu, chat, "e2e-f2"), timeout=T, what="closed edit"
        )
    log("  e2e-f2 closes: its channel post and its group card are edited as closed")

    log("\n== 7. The bot is removed, then added back ==")
    assert await _groups_loaded(rt) == 1
    await emu.bot_status(G, OWNER, "left")
    left = await groups.get(G)
    assert left is not None and not left.active and left.enabled and left.thread_id == thread
    await eventually(
        lambda: _has_groups(rt, 0), timeout=T, what="the group's row dropped by its shard"
    )
    a2 = _opp("e2e-a2", OpportunityType.ARBITRAGE, Priority.HIGH, "ADA/USDT")
    before = len(await emu.messages(G))
    await opps.apply(opened=[a2])
    await eventually(lambda: _distributed(redis), timeout=T, what="e2e-a2 distributed")
    await eventually(
        lambda: _recipient(redis, "e2e-a2", OWNER), timeout=T, what="e2e-a2 released to the owner"
    )
    assert str(G) not in await redis.smembers(keys.recipients("e2e-a2"))
    log(
        f"  removed: settings kept (enabled, digest 600 s, topic {thread}); e2e-a2 went to the "
        "owner's private chat and not to the group"
    )
    await emu.bot_status(G, OWNER, "administrator")
    back = (await emu.messages(G, before + 1))[-1]
    log(f"  added back: {back['plain_text']!r}")
    await eventually(lambda: _has_groups(rt, 1), timeout=T, what="the group's row back")
    before = len(await emu.messages(G))
    f3 = _opp("e2e-f3", OpportunityType.FUNDING, Priority.HIGH, "LTC/USDT")
    await opps.apply(opened=[f3])
    resumed = _cards((await emu.messages(G, before + 1))[before:])
    assert [_card_ids(m) for m in resumed] == [["e2e-f3"]]
    assert resumed[0]["message_thread_id"] == thread
    log(f"  e2e-f3 reaches the group again, in topic {thread}")
    stats = await emu.stats()
    log(f"  emulator: 429s {stats['too_many_requests']}, forbidden {stats.get('forbidden')}")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def _reply(emu: Emu, user: int, containing: str) -> str:
    """The bot's last private message to `user` that contains `containing` (their private chat
    also receives pushes)."""
    found = [m["plain_text"] for m in await emu.messages(user) if containing in m["plain_text"]]
    assert found, f"no reply containing {containing!r} to {user}"
    return str(found[-1])


async def _closed_card(emu: Emu, chat: int, oid: str) -> bool:
    """The card of `oid` in `chat` was edited as closed (no buttons left)."""
    cards = [m for m in await emu.messages(chat) if _card_ids(m) == [oid]]
    return bool(cards) and "Closed" in cards[0]["plain_text"] and not _buttons(cards[0])


async def _groups_loaded(rt: Runtime) -> int:
    """Group chats among the push shards' rows."""
    assert rt.pushes is not None
    return sum(int(s["groups"]) for s in await rt.pushes.shards.stats())


async def _has_groups(rt: Runtime, want: int) -> bool:
    return await _groups_loaded(rt) == want


async def _recipient(redis: Any, oid: str, chat: int) -> bool:
    return str(chat) in await redis.smembers(keys.recipients(oid))


async def _report(emu: Emu, redis: Any, tmp_path: Path, log: Callable[[str], None]) -> None:
    """Every event to Parquet, the groups report, and the same figures counted from the
    emulator (what each chat received, the answers to presses) and over the lake in Python."""
    storage = Storage.local(tmp_path / "lake", fsync=False)
    await ParquetSink(redis, storage, AnalyticsSettings(block_seconds=0.1), consumer="e2e").drain()
    report = run_report(connect(storage), "groups")
    log("\n== 8. The groups report (DuckDB over the Parquet lake) ==")
    log("  " + " | ".join(report.columns))
    for row in report.rows:
        log("  " + " | ".join(str(v) for v in row))
    counted: list[tuple[Any, ...]] = []
    for chat, kind in ((G, "supergroup"), (C, "channel")):
        cards = _cards(await emu.messages(chat))
        answers = [a for a in await emu.answers(chat) if str(a["data"]).startswith("grp:")]
        pointer = sum(1 for a in answers if a["url"])
        source = "group" if chat == G else "channel"
        starts = 1  # one follower each (steps 5 and 6), both new sessions
        counted.append(
            (
                chat,
                kind,
                len(cards),
                sum(len(_card_ids(m)) for m in cards),
                len(answers),
                len(answers) - pointer,
                pointer,
                len({a["user_id"] for a in answers}),
                starts,
                starts,
            )
        )
        log(f"  emulator's count for the {source} {chat}: {counted[-1][2:]}")
    by_chat = {r[0]: r for r in report.rows}
    assert [by_chat.get(G), by_chat.get(C)] == counted
    assert report.rows == groups_oracle.groups(raw_events(tmp_path / "lake"))
    log("  report == emulator's count == independent count over the lake: yes")
