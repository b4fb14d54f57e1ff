"""`arbcast demo`: the whole product on embedded defaults, narrated.

It starts an embedded Redis (under var/demo/), the Telegram emulator with Telegram's limits on,
and the bot in webhook mode, all in this process, then plays scripted users through the session
lifecycle: the gate, /start and onboarding, /opportunities, /dnd, /status, /logout, an expiry
after a fast-forward of eight days, the admin commands, the opportunity engine, and pushes to a
crowd of users with live counters. It ends with a summary read back from Redis and the
emulator, and the main reports read back from Parquet.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from analytics.duck import connect
from analytics.reports import run_report, to_rich_table
from analytics.sink import ParquetSink
from analytics.storage import Storage
from arbcast.demo_pushes import demo_push_settings, run_pushes
from arbcast.runtime import Runtime
from core.clock import OffsetClock
from core.events import read_events
from core.settings import load_settings
from core.subscriptions import SubscriptionStore
from emulator.server import EmulatorServer
from messaging.outbox.subscription_expiry import subscription_expiry

DEMO_TOKEN = "700000001:ARBCASTDEMOtokenForTheLocalEmulator01"
ADMIN_ID = 1000
console = Console(width=None if sys.stdout.isatty() else 120)


def _plain(html: str) -> str:
    return (
        re.sub(r"<[^>]+>", "", html).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class DemoUser:
    """A simulated Telegram user talking to the bot through the emulator's control API."""

    def __init__(self, http: aiohttp.ClientSession, base: str, user_id: int, name: str) -> None:
        self.http, self.base, self.id, self.name = http, base, user_id, name
        self.seen = 0

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.base}{path}", json=body) as resp:
            data: dict[str, Any] = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"emulator refused {path}: {data}")
            return data

    async def messages(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/emulator/chats/{self.id}/messages") as resp:
            result: list[dict[str, Any]] = await resp.json()
            return result

    async def say(self, text: str, *, quiet: bool = False) -> list[dict[str, Any]]:
        if not quiet:
            console.print(f"[bold cyan]{self.name}[/] → [white]{text}[/]")
        await self._post(
            f"/emulator/users/{self.id}/messages",
            {"text": text, "first_name": self.name, "wait": True},
        )
        return await self._new_replies(quiet)

    async def press(self, message: dict[str, Any], label_part: str, *, quiet: bool = False) -> bool:
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if label_part.lower() in button["text"].lower() and "callback_data" in button:
                    if not quiet:
                        console.print(f"[bold cyan]{self.name}[/] ⎆ [white]{button['text']}[/]")
                    await self._post(
                        f"/emulator/users/{self.id}/callbacks",
                        {
                            "message_id": message["message_id"],
                            "data": button["callback_data"],
                            "wait": True,
                        },
                    )
                    await self._new_replies(quiet)
                    return True
        return False

    async def _new_replies(self, quiet: bool) -> list[dict[str, Any]]:
        msgs = await self.messages()
        new, self.seen = msgs[self.seen :], len(msgs)
        if not quiet:
            for m in new:
                console.print(
                    Panel(
                        _plain(m["text"]),
                        title="bot",
                        title_align="left",
                        border_style="green",
                        expand=False,
                    )
                )
        return new

    async def last_message(self) -> dict[str, Any]:
        return (await self.messages())[-1]


async def _onboard(user: DemoUser) -> None:
    """Walk the onboarding: choose something on each step, then go on, until it is done."""
    for _ in range(12):
        current = await user.last_message()
        rows = (current.get("reply_markup") or {}).get("inline_keyboard", [])
        buttons = [b["text"] for row in rows for b in row]
        if not buttons:
            return
        for choice in ("08-22", "Medium"):
            if any(choice.lower() in b.lower() for b in buttons):
                await user.press(current, choice)
                current = await user.last_message()
                break
        for go in ("Next", "Done", "Finish", "Start"):
            if await user.press(current, go):
                break
        else:
            return


def _heading(text: str) -> None:
    console.rule(f"[bold yellow]{text}")


async def run_demo(extra_users: int = 20) -> None:
    data_dir = Path("var/demo")
    settings = load_settings(data_dir=data_dir, redis_url=None)
    settings = settings.model_copy(
        update={
            "telegram_bot_token": settings.telegram_bot_token or SecretStr(DEMO_TOKEN),
            "superadmin_ids": settings.superadmin_ids | {ADMIN_ID},
            "analytics": settings.analytics.model_copy(
                update={"root": str(data_dir / "analytics"), "run_sink": False}
            ),
        }
    )
    shutil.rmtree(data_dir / "analytics", ignore_errors=True)  # each demo starts a fresh lake
    # The bot's webhook is http://127.0.0.1:<free port>: the development flag allows it.
    emulator = EmulatorServer(limits="telegram", allow_insecure_webhooks=True)
    base = await emulator.start()
    settings = settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={"api_base": base, "webhook_port": _free_port()}
            )
        }
    )
    clock = OffsetClock()
    console.print(
        Panel.fit(
            "arbcast demo — embedded Redis under var/demo/, the Telegram emulator at "
            f"{base} (Telegram's limits on), the bot on a webhook.",
            border_style="yellow",
        )
    )
    try:
        settings = demo_push_settings(settings)
        async with Runtime(settings, clock=clock) as rt, aiohttp.ClientSession() as http:
            await rt.services.redis.flushall()  # the demo's own embedded Redis starts clean
            runner = await rt.start_webhook()
            try:
                await _script(rt, http, base, clock, extra_users)
                await rt.services.sessions.activity.flush()
                await rt.services.events.flush()
                if rt.engine is not None:
                    await rt.engine.flush()
                await _summary(rt, http, base)
                await _reports(rt)
            finally:
                await runner.cleanup()
    finally:
        await emulator.stop()


async def _script(
    rt: Runtime, http: aiohttp.ClientSession, base: str, clock: OffsetClock, extra_users: int
) -> None:
    ann = DemoUser(http, base, 101, "Ann")
    bob = DemoUser(http, base, 102, "Bob")
    cat = DemoUser(http, base, 103, "Cat")
    dan = DemoUser(http, base, 104, "Dan")
    admin = DemoUser(http, base, ADMIN_ID, "Root")

    _heading("1. Session first: without /start only /start and /help answer")
    await ann.say("/opportunities")
    await ann.say("/help")

    _heading("2. Ann starts a session and goes through onboarding")
    await ann.say("/start")
    await _onboard(ann)
    await ann.say("/status")
    await ann.say("/opportunities")

    _heading("3. Bob starts, skips onboarding, sets Do Not Disturb, then logs out")
    await bob.say("/start")
    await bob.press(await bob.last_message(), "Skip")
    await bob.say("/dnd 2h")
    await bob.say("/subscription")
    await bob.say("/logout")
    await bob.say("/status")

    _heading("4. Cat goes quiet; eight days later her session has expired")
    await cat.say("/start")
    await cat.press(await cat.last_message(), "Skip", quiet=True)
    clock.advance(days=8)
    console.print("[bold magenta]⏩ eight days pass…[/]")
    expired = await rt.services.sweeper.run_once()
    names = {101: "Ann", 102: "Bob", 103: "Cat"}
    ended = ", ".join(names.get(s.user_id, str(s.user_id)) for s in expired)
    console.print(
        f"[magenta]the expiry sweep ended {len(expired)} session(s) after inactivity: {ended}[/]"
    )
    await cat.say("/opportunities")
    await cat.say("/start")

    _heading("5. Admin commands: refused for Dan, answered for a SuperAdmin")
    await dan.say("/start", quiet=True)
    await dan.say("/admin_stats")
    await admin.say("/start", quiet=True)
    await admin.say(f"/settier {ann.id} premium")
    await admin.say("/admin_stats")

    await _stars_purchase(rt, dan, admin)

    await _engine(rt, ann, clock)

    _heading(f"7. {extra_users} more users at once: /start, /opportunities, /status")
    crowd = [DemoUser(http, base, 5000 + i, f"user{i}") for i in range(extra_users)]
    t0 = time.perf_counter()
    for text in ("/start", "/opportunities", "/status"):
        await asyncio.gather(*(u.say(text, quiet=True) for u in crowd))
    took = time.perf_counter() - t0
    console.print(
        f"{3 * extra_users} updates handled end to end in {took:.2f} s "
        "(the emulator paces replies at Telegram's 1 message/s per chat)"
    )
    await run_pushes(rt, http, base, [u.id for u in crowd] + [ann.id])


async def _stars_purchase(rt: Runtime, dan: DemoUser, admin: DemoUser) -> None:
    """Dan buys Premium with Telegram Stars; the emulator plays Telegram and Dan's wallet."""
    _heading("5b. Dan buys Premium with Telegram Stars: invoice, pre-checkout, payment")
    await dan.say("/subscription")
    await dan.press(await dan.last_message(), "Buy Premium")
    invoice = await dan.last_message()
    link = next(
        b["url"] for row in invoice["reply_markup"]["inline_keyboard"] for b in row if "url" in b
    )
    console.print(f"[bold cyan]Dan[/] pays [white]{link}[/] in Telegram")
    paid = await dan._post(f"/emulator/users/{dan.id}/pay", {"link": link, "wait": True})
    console.print(
        f"[magenta]pre-checkout answered ok; charge {paid['telegram_payment_charge_id']}, "
        f"{paid['total_amount']} ⭐[/]"
    )
    await dan._new_replies(False)
    charge = paid["telegram_payment_charge_id"]
    console.print("[bold magenta]⏩ 30 days later Telegram renews the subscription…[/]")
    await dan._post(
        f"/emulator/users/{dan.id}/subscription/renew", {"charge_id": charge, "wait": True}
    )
    await dan._new_replies(False)
    await dan.say("/subscription")
    await dan.press(await dan.last_message(), "Cancel")
    store = SubscriptionStore(rt.services.redis)
    current = await store.get(dan.id)
    lapse_at = (current.paid_until if current else 0.0) + 1
    console.print("[bold magenta]⏩ …and once the paid period is over without a renewal:[/]")
    fell_back = await subscription_expiry(rt.services).run_once(now=lapse_at)
    tier = (await rt.services.profiles.get(dan.id)).tier
    console.print(f"[magenta]{fell_back} lapsed subscription(s); Dan is on {tier.label} now[/]")
    await admin.say(f"/refund {dan.id} {charge}")


async def _engine(rt: Runtime, ann: DemoUser, clock: OffsetClock) -> None:
    _heading("6. The opportunity engine on Ray: market data → a coordinator per exchange pair")
    if rt.engine is None:
        console.print("[magenta]the engine is off (ARBCAST_ENGINE_RUNTIME__ENABLED=false)[/]")
        return
    steps = 150
    console.print(
        f"[magenta]{len(rt.engine.coordinators)} coordinators "
        f"({', '.join(rt.engine.coordinators)}); replaying {steps} s of the "
        "simulated market…[/]"
    )
    t0 = time.perf_counter()
    results = await rt.engine.run_steps(clock.now() - steps, steps)
    took = time.perf_counter() - t0
    updates = sum(r.updates for r in results)
    console.print(
        f"{updates:,} market updates in {took:.1f} s ({updates / took:,.0f}/s): "
        f"{sum(r.opened for r in results)} opened, {sum(r.updated for r in results)} "
        f"updates, {sum(r.closed for r in results)} closed"
    )
    changes = await rt.services.opportunities.changes(count=100_000)
    shown: Counter[str] = Counter()
    for _, kind, opp in changes:
        if shown[kind] < 3:
            shown[kind] += 1
            console.print(
                f"  [green]{kind:>7}[/] {opp.opportunity_id} {opp.type.value} {opp.symbol} "
                f"{opp.buy_exchange}→{opp.sell_exchange} net {opp.net_spread_pct:.3f}% "
                f"confidence {opp.confidence:.0%} {opp.priority.value}"
            )
    await ann.say("/start")
    replies = await ann.say("/opportunities")
    if replies and replies[-1].get("reply_markup"):
        await ann.press(replies[-1], "Details")


async def _reports(rt: Runtime) -> None:
    """Write every recorded event to Parquet, then read the main reports back with DuckDB."""
    _heading("Analytics: the events as Parquet, read back with DuckDB")
    storage = Storage.from_settings(rt.settings.analytics)
    sink = ParquetSink(rt.services.redis, storage, rt.settings.analytics, consumer="demo")
    stats = await sink.drain()
    console.print(
        f"the sink wrote {stats.events_written:,} events to {rt.settings.analytics.root}/"
    )
    con = connect(storage)
    # "Now" is the demo's clock (eight days ahead of the wall clock by this point).
    now = datetime.fromtimestamp(rt.services.clock.now(), UTC)
    for name in ("sessions", "onboarding", "validation", "distribution", "revenue"):
        report = run_report(
            con,
            name,
            as_of=now,
            onboarding_window=timedelta(seconds=rt.settings.analytics.onboarding_window_seconds),
        )
        console.print(to_rich_table(f"report: {name}", report.columns, report.rows))
    console.print("[dim]more: .venv/bin/arbcast analytics report NAME --root var/demo/analytics[/]")


async def _summary(rt: Runtime, http: aiohttp.ClientSession, base: str) -> None:
    _heading("Summary")
    now = rt.services.clock.now()
    table = Table(title="Sessions")
    for col in ("user", "state", "session id", "expires", "commands", "onboarding"):
        table.add_column(col)
    for uid, name in ((101, "Ann"), (102, "Bob"), (103, "Cat"), (104, "Dan"), (ADMIN_ID, "Root")):
        s = await rt.services.sessions.store.get(uid)
        if s:
            table.add_row(
                name,
                s.state.value,
                s.session_id[:12] + "…",
                time.strftime("%Y-%m-%d %H:%M", time.gmtime(s.expires_at)),
                str(s.commands_used),
                s.onboarding.value,
            )
    console.print(table)
    console.print(f"Active sessions now: {await rt.services.sessions.store.count_active(now)}")
    events = Counter(e.name for e in await read_events(rt.services.redis, count=1_000_000))
    ev = Table(title="Events recorded (Redis stream arbcast:events)")
    ev.add_column("event")
    ev.add_column("count", justify="right")
    for name, n in sorted(events.items()):
        ev.add_row(name, str(n))
    console.print(ev)
    async with http.get(f"{base}/emulator/stats") as resp:
        stats = await resp.json()
    em = Table(title="Telegram emulator")
    em.add_column("figure")
    em.add_column("value", justify="right")
    for name, n in sorted(stats["calls"].items()):
        em.add_row(f"{name} calls", str(n))
    em.add_row("429s served", str(stats["too_many_requests"]["total"]))
    em.add_row("peak messages in one second", str(stats["peak_send_rate"]))
    console.print(em)
