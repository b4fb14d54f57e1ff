"""Ray is reachable only by who should reach it, and holds no secret of ours.

A local Ray binds loopback only and runs with token auth; a process joining a cluster keeps
Ray's own binding. Actors are never handed a secret as a constructor argument (Ray records
those in its control plane): they get settings without secrets and read the bot token from
their own environment.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import psutil
import pytest
import ray
from pydantic import SecretStr

from actors.errors import ActorsError
from actors.factory import _named
from actors.ray_environment import LOCAL_ONLY, prepare
from core.errors import ConfigError
from core.settings import Settings

TOKEN = "123456:" + "E" * 35


def test_a_local_ray_is_told_to_use_token_auth_and_loopback(tmp_path: Path) -> None:
    """With no cluster address anywhere, both switches are set."""
    env: dict[str, str] = {}
    prepare(env, dotenv=tmp_path / ".env")
    assert env == {"RAY_AUTH_MODE": "token", LOCAL_ONLY: "0"}


def test_a_process_joining_a_cluster_keeps_rays_binding(tmp_path: Path) -> None:
    """An address in the environment, or only in .env, means other nodes must reach this one:
    token auth stays, loopback-only does not."""
    env = {"ARBCAST_RAY__ADDRESS": "ray-head:6379"}
    prepare(env, dotenv=tmp_path / ".env")
    assert env == {"ARBCAST_RAY__ADDRESS": "ray-head:6379", "RAY_AUTH_MODE": "token"}
    dotenv = tmp_path / ".env"
    dotenv.write_text("ARBCAST_RAY__ADDRESS=auto\n")
    env = {}
    prepare(env, dotenv=dotenv)
    assert env == {"RAY_AUTH_MODE": "token"}


def test_the_operators_own_values_win(tmp_path: Path) -> None:
    env = {"RAY_AUTH_MODE": "disabled", LOCAL_ONLY: "1"}
    prepare(env, dotenv=tmp_path / ".env")
    assert env == {"RAY_AUTH_MODE": "disabled", LOCAL_ONLY: "1"}


def test_settings_for_actors_hold_no_secret_and_the_token_comes_from_the_environment() -> None:
    """`without_secrets` drops the token, the webhook secret, the S3 keys and the dashboard
    token; `with_token_from` takes the token back from an environment, or says how to set it."""
    full = Settings(
        telegram_bot_token=SecretStr(TOKEN),
        analytics={"s3_access_key": "AK", "s3_secret_key": "SK", "dashboard_token": "dash"},  # type: ignore[arg-type]
    )
    assert set(full.secrets_held()) == {
        "telegram_bot_token",
        "telegram.webhook_secret",
        "analytics.s3_access_key",
        "analytics.s3_secret_key",
        "analytics.dashboard_token",
    }
    bare = full.without_secrets()
    assert bare.secrets_held() == []
    assert bare.shards == full.shards and bare.tiers == full.tiers
    assert bare.with_token_from({"TELEGRAM_BOT_TOKEN": TOKEN}).bot_token() == TOKEN
    with pytest.raises(ConfigError, match="export it on every node"):
        bare.with_token_from({})


def test_the_factory_refuses_to_hand_an_actor_a_secret() -> None:
    """The one place actors are made checks every Settings argument before Ray sees it."""
    with pytest.raises(ActorsError, match="without_secrets"):
        _named(object, "push-sender-0", "arbcast-tests", 0, Settings(telegram_bot_token=TOKEN))  # type: ignore[arg-type]


def test_the_suites_local_ray_listens_on_loopback_only(ray_instance: None) -> None:
    """The session's Ray (started as `arbcast run` starts one) has a loopback node address, and
    no Ray process of this machine's session listens beyond loopback."""
    node_ip: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
    assert ipaddress.ip_address(node_ip).is_loopback
    gcs = ray.get_runtime_context().gcs_address
    assert gcs.startswith("127.0.0.1:"), gcs
    mine = {p.pid for p in psutil.Process().children(recursive=True)}
    exposed = [
        (psutil.Process(c.pid).name(), c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections("inet")
        if c.status == psutil.CONN_LISTEN
        and c.pid in mine
        and not ipaddress.ip_address(c.laddr.ip.removeprefix("::ffff:")).is_loopback
    ]
    assert mine and exposed == []
