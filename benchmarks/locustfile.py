"""Locust load test of the arbcast bot's webhook: real Telegram Update JSON, a realistic mix.

    locust -f benchmarks/locustfile.py --headless --host http://127.0.0.1:8080 \
        --emulator-url http://127.0.0.1:8081 --load-profile steady --peak-users 50 --duration 60 \
        --max-p99-ms 250 --max-fail-ratio 0.01 --csv var/load/locust --html var/load/locust.html

`make load` (benchmarks/load.py) starts the emulator and the bot and runs this for you.

How the traffic reaches the bot:
- Messages (commands, stray text, group chatter) are POSTed straight to the bot's webhook with
  the secret header, as Telegram would, at full speed: these are the "webhook ..." requests and
  what the thresholds judge.
- The bot answers through the Bot API, i.e. the emulator, which only sends to chats it has seen.
  So a new Telegram identity is first *seeded*: one user message through the emulator's control
  API (`POST /emulator/users/{id}/messages`, not waited for), which creates the chat (the
  emulator then also delivers that message to the bot, as Telegram would). Group chats likewise.
- Button presses go through the emulator (`POST /emulator/users/{id}/callbacks`, "wait": true):
  a callback query must name a message the bot really sent and a query id the emulator issued,
  or the bot's answerCallbackQuery/editMessageText are refused. The emulator then delivers the
  callback_query update to the webhook; the request's time is emulator + webhook + handler.
  These are the "emulator ..." requests; they count for failures but not for the p99 threshold.

Update ids are unique and increasing per process (`RUN_BASE + n * STRIDE + worker_index`), user
ids come from a range of a billion, offset per worker and per run.

Profiles (`--load-profile`, or ARBCAST_LOAD_PROFILE; locust has its own `--profile`): steady
(peak users for the whole duration), ramp (0 to peak over the duration), spike (a fifth of
peak, then peak for the middle fifth).
User classes: `ArbcastUser` (the realistic mix, default) and `SessionFirstUser` (users with an
active session sending /status and text: the session-first path the webhook benchmark times).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, LoadTestShape, events, task
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import StatsEntry

STRIDE = 100  # at most 100 worker processes
RUN_BASE = int(time.time()) * 1_000_000_000
USER_RANGE = 1_000_000_000
_update_ids = itertools.count(1)
_user_ids = itertools.count(1)
_run_salt = random.randrange(USER_RANGE // 2)


def _arguments(parser: LocustArgumentParser) -> None:
    g = parser.add_argument_group("arbcast")
    g.add_argument(
        "--load-profile",
        choices=["steady", "ramp", "spike"],
        default=os.environ.get("ARBCAST_LOAD_PROFILE", "steady"),
        help="Load shape (env ARBCAST_LOAD_PROFILE)",
    )
    g.add_argument("--peak-users", type=int, default=50, help="Users at the profile's peak")
    g.add_argument("--duration", type=float, default=60.0, help="Seconds the profile lasts")
    g.add_argument(
        "--think-ms", type=float, default=500.0, help="Mean pause between a user's actions"
    )
    g.add_argument("--emulator-url", default="", help="The emulator (seeding chats, presses)")
    g.add_argument("--secret", default="arbcast-load-secret", help="The webhook secret token")
    g.add_argument("--webhook-path", default="/webhook")
    g.add_argument("--bot-token", default="", help="Emulator bot token (default: its first bot)")
    g.add_argument("--max-p99-ms", type=float, default=0.0, help="Fail the run above (0: off)")
    g.add_argument(
        "--max-fail-ratio", type=float, default=-1.0, help="Fail the run above (<0: off)"
    )


events.init_command_line_parser.add_listener(_arguments)  # type: ignore[no-untyped-call]


def _worker_index(env: Environment) -> int:
    return int(getattr(env.runner, "worker_index", 0) or 0)


def next_update_id(env: Environment) -> int:
    return RUN_BASE + next(_update_ids) * STRIDE + _worker_index(env) % STRIDE


def next_user_id(env: Environment) -> int:
    return 1_000_000_000 + (_worker_index(env) * 10_000_000 + _run_salt + next(_user_ids)) % (
        USER_RANGE
    )


def _user_json(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": f"Load {uid % 10_000}", "language_code": "en"}


def message_update(
    update_id: int, uid: int, text: str, *, chat_id: int | None = None
) -> dict[str, Any]:
    """A Telegram Update with a text message (a group when chat_id is negative)."""
    if chat_id is None or chat_id == uid:
        chat: dict[str, Any] = {"id": uid, "type": "private", "first_name": f"Load {uid % 10_000}"}
    else:
        chat = {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
    msg: dict[str, Any] = {
        "message_id": update_id % 1_000_000_000,
        "date": int(time.time()),
        "chat": chat,
        "from": _user_json(uid),
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id, "message": msg}


class _Base(FastHttpUser):
    abstract = True
    network_timeout = 30.0
    connection_timeout = 10.0

    def wait_time(self) -> float:
        think = float(self.environment.parsed_options.think_ms) / 1000
        return think * random.uniform(0.5, 1.5) if think > 0 else 0.0

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        self.emulator = str(opts.emulator_url).rstrip("/")
        self.hook = str(opts.webhook_path)
        self.headers = {
            "X-Telegram-Bot-Api-Secret-Token": str(opts.secret),
            "Content-Type": "application/json",
        }
        self.token = str(opts.bot_token)
        self.active: list[int] = []  # identities with a session, onboarding done or skipped

    # -- the two ways in ------------------------------------------------------------------------

    def post_update(self, name: str, update: dict[str, Any]) -> bool:
        """POST one Update to the bot's webhook; 2xx with a JSON body is success."""
        with self.client.post(
            self.hook,
            data=json.dumps(update),
            headers=self.headers,
            name=f"webhook {name}",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:200]}")
                return False
            resp.success()
            return True

    def send(self, name: str, uid: int, text: str, chat_id: int | None = None) -> bool:
        update = message_update(next_update_id(self.environment), uid, text, chat_id=chat_id)
        return self.post_update(name, update)

    def _emulator_body(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.token:
            body["bot_token"] = self.token
        return body

    def seed_chat(self, uid: int, chat_id: int | None = None) -> None:
        """Let the emulator know the chat (one user message through its control API)."""
        if not self.emulator:
            return
        body: dict[str, Any] = {"text": "hi", "first_name": f"Load {uid % 10_000}"}
        if chat_id is not None:
            body["chat_id"] = chat_id
        self.client.post(
            f"{self.emulator}/emulator/users/{uid}/messages",
            json=self._emulator_body(body),
            name="emulator seed chat",
        )

    def last_markup_message(self, uid: int, prefix: str = "") -> int | None:
        """The id of the bot's latest message in the user's chat with buttons (data prefix)."""
        if not self.emulator:
            return None
        with self.client.get(
            f"{self.emulator}/emulator/chats/{uid}/messages",
            name="emulator read chat",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return None
            messages = resp.json()
            resp.success()
        for m in reversed(messages):
            markup = m.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") or []
            datas = [b.get("callback_data", "") for row in rows for b in row]
            if not m.get("deleted") and any(d.startswith(prefix) for d in datas):
                return int(m["message_id"])
        return None

    def press(self, name: str, uid: int, message_id: int, data: str) -> bool:
        """A button press: the emulator issues the callback query and delivers it (waited)."""
        with self.client.post(
            f"{self.emulator}/emulator/users/{uid}/callbacks",
            json=self._emulator_body(
                {"message_id": message_id, "data": data, "wait": True, "timeout": 20}
            ),
            name=f"emulator press {name}",
            catch_response=True,
        ) as resp:
            ok = resp.status_code == 200 and bool((resp.json() or {}).get("delivered"))
            if ok:
                resp.success()
            else:
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:200]}")
            return ok

    def new_identity(self) -> int:
        uid = next_user_id(self.environment)
        self.seed_chat(uid)
        return uid

    def start_session(self, uid: int) -> bool:
        ok = self.send("/start", uid, "/start")
        if ok:
            self.active.append(uid)
            if len(self.active) > 20:
                self.active.pop(0)
        return ok

    def some_active(self) -> int | None:
        return random.choice(self.active) if self.active else None


class ArbcastUser(_Base):
    """The realistic mix: new users onboarding, active users, stray text, groups."""

    @task(2)
    def new_user(self) -> None:
        uid = self.new_identity()
        if not self.start_session(uid) or not self.emulator:
            return
        mid = self.last_markup_message(uid, "ob:")
        if mid is None:
            return
        # welcome -> tier -> types, then skip the rest (saved answers stay).
        for data in ("ob:welcome:next", "ob:tier:next", "ob:types:skip"):
            if not self.press(data, uid, mid, data):
                return

    @task(5)
    def opportunities(self) -> None:
        uid = self.some_active()
        if uid is None:
            return self.new_user()
        self.send("/opportunities", uid, "/opportunities")
        return None

    @task(2)
    def commands(self) -> None:
        uid = self.some_active()
        if uid is None:
            return self.new_user()
        text = random.choice(["/status", "/help", "/dnd 2h", "/subscription"])
        self.send(text.split()[0], uid, text)
        return None

    @task(2)
    def settings(self) -> None:
        uid = self.some_active()
        if uid is None:
            return self.new_user()
        if not self.send("/settings", uid, "/settings") or not self.emulator:
            return None
        mid = self.last_markup_message(uid, "set:")
        if mid is not None:
            data = random.choice(["set:push:0", "set:push:1", "set:open:"])
            self.press(data, uid, mid, data)
        return None

    @task(1)
    def feedback(self) -> None:
        uid = self.some_active()
        if uid is None or not self.emulator:
            return None
        mid = self.last_markup_message(uid)
        if mid is not None:
            data = random.choice(["op:up:arb-BTC-binance-okx", "op:down:arb-ETH-okx-bybit"])
            self.press(data.rsplit(":", 1)[0], uid, mid, data)
        return None

    @task(2)
    def stray_text(self) -> None:
        uid = self.some_active() or self.new_identity()
        self.send("text", uid, random.choice(["hello?", "what is this", "price btc", "👍"]))

    @task(1)
    def unknown_callback(self) -> None:
        uid = self.some_active()
        if uid is None or not self.emulator:
            return None
        mid = self.last_markup_message(uid)
        if mid is not None:
            self.press("zz:1", uid, mid, "zz:1")
        return None

    @task(1)
    def group_message(self) -> None:
        uid = self.some_active()
        if uid is None:
            return self.new_user()
        chat_id = -(10**12 + uid)
        if uid not in getattr(self, "_groups", set()):
            self.seed_chat(uid, chat_id)
            self._groups = getattr(self, "_groups", set()) | {uid}
        text = random.choice(["gm", "anyone trading sol?", "/help", "/opportunities"])
        self.send("group", uid, text, chat_id=chat_id)
        return None


class SessionFirstUser(_Base):
    """Users with an active session sending /status and text: the session gate, then a handler
    and one reply. Against the no-op baseline (no --emulator-url) nothing is seeded."""

    def on_start(self) -> None:
        super().on_start()
        for _ in range(5):
            self.start_session(self.new_identity())

    @task(3)
    def status(self) -> None:
        uid = self.some_active()
        if uid is not None:
            self.send("/status", uid, "/status")

    @task(1)
    def text(self) -> None:
        uid = self.some_active()
        if uid is not None:
            self.send("text", uid, "hello?")


class Profile(LoadTestShape):
    """steady | ramp | spike over --duration seconds up to --peak-users."""

    def tick(self) -> tuple[int, float] | None:
        opts = self.runner.environment.parsed_options if self.runner else None
        if opts is None:
            return None
        t = float(self.get_run_time())  # type: ignore[no-untyped-call]
        duration, peak, profile = float(opts.duration), int(opts.peak_users), str(opts.load_profile)
        if t >= duration:
            return None
        rate = float(max(peak, 1))
        if profile == "ramp":
            return max(1, math.ceil(peak * min(1.0, (t + 1) / duration))), rate
        if profile == "spike":
            base = max(1, peak // 5)
            in_spike = 0.4 * duration <= t < 0.6 * duration
            return (peak if in_spike else base), rate
        return peak, rate


def webhook_entry(env: Environment) -> StatsEntry:
    """All direct-to-webhook requests merged into one entry (exact percentiles)."""
    merged = StatsEntry(env.stats, "webhook", "POST", use_response_times_cache=False)
    for (name, _method), entry in env.stats.entries.items():
        if name.startswith("webhook "):
            merged.extend(entry)
    return merged


def _thresholds(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    opts = environment.parsed_options
    if opts is None:
        return
    hook = webhook_entry(environment)
    total = environment.stats.total
    p99 = hook.get_response_time_percentile(0.99) if hook.num_requests else 0.0
    fail_ratio = total.fail_ratio
    summary = {
        "webhook_requests": hook.num_requests,
        "webhook_failures": hook.num_failures,
        "webhook_rps": hook.total_rps,
        "webhook_p50_ms": hook.get_response_time_percentile(0.5) if hook.num_requests else 0.0,
        "webhook_p95_ms": hook.get_response_time_percentile(0.95) if hook.num_requests else 0.0,
        "webhook_p99_ms": p99,
        "all_requests": total.num_requests,
        "all_failures": total.num_failures,
        "fail_ratio": fail_ratio,
    }
    problems = []
    if opts.max_p99_ms and p99 > opts.max_p99_ms:
        problems.append(f"webhook p99 {p99:.0f} ms > {opts.max_p99_ms:g} ms")
    if opts.max_fail_ratio >= 0 and fail_ratio > opts.max_fail_ratio:
        problems.append(f"failure ratio {fail_ratio:.4f} > {opts.max_fail_ratio:g}")
    summary["problems"] = problems
    if getattr(opts, "csv_prefix", None):
        Path(f"{opts.csv_prefix}_webhook.json").write_text(json.dumps(summary, indent=1))
    if problems:
        print("THRESHOLDS FAILED: " + "; ".join(problems), flush=True)
        environment.process_exit_code = 1


events.quitting.add_listener(_thresholds)  # type: ignore[no-untyped-call]
