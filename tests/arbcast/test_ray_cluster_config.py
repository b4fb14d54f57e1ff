"""The Ray cluster launcher configurations (`ray_cluster.yaml`, `ray_cluster.aws.yaml`) are ones
`ray up` accepts, install arbcast from the repo, and start Ray with the secrets of the operator's
env file, never with secrets of their own.

What `ray up` does before touching a machine (``ray.autoscaler._private.commands``,
``create_or_update_cluster`` then ``_bootstrap_config``, Ray 2.60):

1. ``yaml.safe_load`` of the file, and a look-up of ``provider.type`` among Ray's providers;
2. ``prepare_config`` (for ``type: local`` that is ``prepare_local``, which rejects
   ``available_node_types`` and wants ``head_ip``/``worker_ips``; then the provider's defaults,
   merged setup commands, per-node-type worker limits);
3. the provider class's ``fillout_available_node_types_resources``;
4. ``validate_config`` (Ray's ``ray-schema.json`` and its cross-field checks);
5. the provider class's ``bootstrap_config``.

For the local provider every step is local and pure (3 is the base class's no-op, 5 returns the
config), so the test runs ``_bootstrap_config`` itself, with the config cache off, which is exactly
steps 2 to 5. For AWS, steps 3 and 5 call the AWS API (EC2 DescribeInstanceTypes; IAM roles, key
pairs, security groups and subnets), which needs an account and the network, so the test runs
steps 1, 2 and 4 only; the file gives every node type its ``resources`` so that step 4 does not
depend on step 3.

The shell commands are checked by running them with bash, as Ray runs them, under a temporary
HOME whose ``~/.venvs/arbcast/bin/ray`` is a script that records how it was called.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (constraints.txt) has no stubs here
from ray.autoscaler._private.commands import _bootstrap_config
from ray.autoscaler._private.util import prepare_config, validate_config

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "ray_cluster.yaml"
AWS = REPO / "ray_cluster.aws.yaml"
CONFIGS = [LOCAL, AWS]
ENV_FILE = "~/arbcast-cluster.env"
SOURCE_MOUNT = "~/arbcast"
# A recorder in place of Ray's CLI: one line per call, with the variables Ray must see.
RECORDER = """#!/bin/sh
printf '%s|mode=%s|token=%s|redis=%s|bot=%s\\n' "$*" "$RAY_AUTH_MODE" "$RAY_AUTH_TOKEN" \
  "$REDIS_URL" "$TELEGRAM_BOT_TOKEN" >> "$HOME/calls.log"
"""
# `arbcast run` in its place: reports itself on the FIFO `started`, then blocks opening the FIFO
# `hold` (which nothing writes) until SIGTERM, which it reports on `stopped`. It starts no child
# that could outlive it.
ARBCAST_RECORDER = """#!/bin/sh
trap 'echo $$ > "$HOME/stopped"; exit 0' TERM
printf '%s|%s|address=%s|mode=%s|token=%s|redis=%s|bot=%s|cwd=%s\\n' "$$" "$*" \\
  "$ARBCAST_RAY__ADDRESS" "$RAY_AUTH_MODE" "$RAY_AUTH_TOKEN" "$REDIS_URL" "$TELEGRAM_BOT_TOKEN" \\
  "$PWD" > "$HOME/started"
read _ 2>/dev/null < "$HOME/hold"
"""
ENV = {
    "RAY_AUTH_TOKEN": "t0ken-from-the-env-file",
    "REDIS_URL": "redis://10.0.0.5:6379/0",
    "TELEGRAM_BOT_TOKEN": "123456:" + "B" * 35,
}


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), f"{path.name} is not a mapping"
    return loaded


def pinned_ray() -> str:
    """The Ray version constraints.txt pins, read from the file itself."""
    found = re.search(r"^ray==(\S+)$", (REPO / "constraints.txt").read_text(), re.MULTILINE)
    assert found, "constraints.txt pins no ray version"
    return found.group(1)


def test_local_config_passes_ray_ups_own_preparation_and_validation() -> None:
    """`ray up ray_cluster.yaml` steps 2-5 accept the local-provider file: one internal node type,
    the named workers as its min and max, and the schema-valid result."""
    config = load(LOCAL)
    assert config["provider"]["type"] == "local"

    resolved = _bootstrap_config(copy.deepcopy(config), no_config_cache=True)

    workers = config["provider"]["worker_ips"]
    assert config["provider"]["head_ip"] and workers, "name the head and at least one worker"

    node_types = resolved["available_node_types"]
    assert list(node_types) == ["local.cluster.node"]
    assert node_types["local.cluster.node"]["max_workers"] == len(workers)
    assert node_types["local.cluster.node"]["min_workers"] == len(workers)


def test_aws_config_passes_ray_ups_preparation_and_schema_validation() -> None:
    """`ray up ray_cluster.aws.yaml` steps 1, 2 and 4 accept the cloud variant, whose head node
    type names no workers and whose worker type can scale."""
    config = load(AWS)
    assert config["provider"]["type"] == "aws"

    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)

    head = prepared["available_node_types"][prepared["head_node_type"]]
    assert head["max_workers"] == 0
    workers = [
        t for n, t in prepared["available_node_types"].items() if n != config["head_node_type"]
    ]
    assert workers and all(t["max_workers"] >= 1 for t in workers)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_source_tree_is_synced_without_the_venv_or_local_state(path: Path) -> None:
    """The repo goes to ~/arbcast without .venv (scripts pointing at this machine), var, .git or
    .env (the operator's secrets); nothing mounts a .venv."""
    config = load(path)
    mounts = config["file_mounts"]
    assert not [k for k, v in mounts.items() if ".venv" in f"{k} {v}"]
    assert mounts[SOURCE_MOUNT] == "."
    assert {".venv", "var", ".git", ".env"} <= set(config["rsync_exclude"])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_setup_installs_the_repo_with_the_pinned_constraints(path: Path) -> None:
    """Setup builds a Python 3.11 venv and pip-installs ~/arbcast under constraints.txt, with the
    Ray that constraints.txt pins (the autoscaler needs ray[default])."""
    commands = " ; ".join(load(path)["setup_commands"])
    assert "python3.11 -m venv ~/.venvs/arbcast" in commands
    install = next(c for c in load(path)["setup_commands"] if "pip install" in c)
    assert "-c ~/arbcast/constraints.txt" in install
    assert re.search(r"\s~/arbcast(\s|$)", install), "install the synced source tree"
    versions = re.findall(r"ray\[default\]==([\w.]+)", install)
    assert versions == [pinned_ray()]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_file_holds_no_secret(path: Path) -> None:
    """Tokens and the Redis URL come from the env file at start time: the YAML assigns none of
    them a value, holds no Telegram token and no redis:// URL."""
    text = path.read_text()
    assert not re.search(r"\d{6,}:[A-Za-z0-9_-]{30,}", text)
    assert "redis://" not in text and "rediss://" not in text
    for name in ("RAY_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN", "REDIS_URL", "PASSWORD", "SECRET"):
        # `${NAME:?message}` (a required variable) is no value.
        assert not re.search(rf"{name}\s*(=|:(?!\?))\s*[^\s$]", text), f"{name} is given a value"
    assert load(path)["file_mounts"][ENV_FILE].startswith("~/.config/")


def node_home(home: Path, env: dict[str, str]) -> Path:
    """A node's HOME as `ray up` leaves it before the start commands: the synced tree, the env
    file, and the venv's `ray` and `arbcast` as recorders (`arbcast` reports on FIFOs)."""
    bin_dir = home / ".venvs/arbcast/bin"
    bin_dir.mkdir(parents=True)
    (home / "arbcast").mkdir()
    for name, script in (("ray", RECORDER), ("arbcast", ARBCAST_RECORDER)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    os.mkfifo(home / "started")
    os.mkfifo(home / "stopped")
    os.mkfifo(home / "hold")
    (home / "arbcast-cluster.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return home


def run_commands(home: Path, commands: list[str]) -> subprocess.CompletedProcess[str]:
    """Runs `commands` one after the other with bash, as Ray runs them on a node, under `home`."""
    script = " && ".join(f"( {c} )" for c in commands)
    clean = {"HOME": str(home), "PATH": os.environ["PATH"], "RAY_HEAD_IP": "192.0.2.10"}
    return subprocess.run(
        ["bash", "-c", script], env=clean, capture_output=True, text=True, timeout=60
    )


def read_fifo(fifo: Path) -> str:
    """Blocks until a recorder writes `fifo` (the timeout only bounds a broken command)."""
    return subprocess.run(
        ["cat", str(fifo)], capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()


def run_start(
    path: Path, key: str, home: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Runs the file's `key` commands but the arbcast launch."""
    commands = [c for c in load(path)[key] if "arbcast run" not in c]
    return run_commands(node_home(home, env), commands)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
@pytest.mark.parametrize("key", ["head_start_ray_commands", "worker_start_ray_commands"])
def test_ray_starts_with_token_auth_and_the_env_files_variables(
    path: Path, key: str, tmp_path: Path
) -> None:
    """Each node's `ray start` runs with RAY_AUTH_MODE=token and the env file's token, Redis URL
    and bot token (which Ray's workers inherit); GCS on 6380, the dashboard on loopback."""
    done = run_start(path, key, tmp_path / "home", ENV)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "home/calls.log").read_text().splitlines()
    start = [c for c in calls if c.startswith("start ")]
    assert len(start) == 1 and calls[0].startswith("stop")
    assert start[0].endswith(
        f"|mode=token|token={ENV['RAY_AUTH_TOKEN']}|redis={ENV['REDIS_URL']}"
        f"|bot={ENV['TELEGRAM_BOT_TOKEN']}"
    )
    if key.startswith("head"):
        assert "--head --port=6380" in start[0] and "--dashboard-host=127.0.0.1" in start[0]
    else:
        assert "--address=192.0.2.10:6380" in start[0]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
@pytest.mark.parametrize("missing", sorted(ENV))
def test_ray_does_not_start_without_a_required_variable(
    path: Path, missing: str, tmp_path: Path
) -> None:
    """An env file without RAY_AUTH_TOKEN, REDIS_URL (no embedded Redis on a cluster) or
    TELEGRAM_BOT_TOKEN stops the head's start with a message naming the variable."""
    env = {k: v for k, v in ENV.items() if k != missing}
    done = run_start(path, "head_start_ray_commands", tmp_path / "home", env)
    assert done.returncode != 0
    assert missing in done.stderr
    calls = (tmp_path / "home/calls.log").read_text().splitlines()
    assert not [c for c in calls if c.startswith("start ")]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_head_runs_one_arbcast_joined_to_the_cluster_and_replaces_it_on_restart(
    path: Path, tmp_path: Path
) -> None:
    """The head's start commands launch `arbcast run` from the venv in ~/arbcast, in the
    background, with ARBCAST_RAY__ADDRESS=auto, token auth and the env file's variables, and
    record its pid; running them again (a second `ray up`) stops that process and starts one."""
    home = node_home(tmp_path / "home", ENV)
    commands = load(path)["head_start_ray_commands"]
    pid_file = home / "arbcast-run.pid"
    seen: set[str] = set()
    try:
        assert run_commands(home, commands).returncode == 0
        seen.add(pid_file.read_text().strip())
        first = read_fifo(home / "started").split("|")
        assert first[1:] == [
            "run",
            "address=auto",
            "mode=token",
            f"token={ENV['RAY_AUTH_TOKEN']}",
            f"redis={ENV['REDIS_URL']}",
            f"bot={ENV['TELEGRAM_BOT_TOKEN']}",
            f"cwd={home / 'arbcast'}",
        ]
        assert pid_file.read_text().strip() == first[0]

        assert run_commands(home, commands).returncode == 0
        seen.add(pid_file.read_text().strip())
        assert read_fifo(home / "stopped") == first[0]
        second = read_fifo(home / "started").split("|")
        assert second[0] != first[0]
        assert pid_file.read_text().strip() == second[0]

        os.kill(int(second[0]), signal.SIGTERM)
        assert read_fifo(home / "stopped") == second[0]
    finally:  # a failed run leaves no recorder behind; a pid is killed only while it is ours
        for pid in seen:
            with contextlib.suppress(OSError, ValueError):
                if os.readlink(f"/proc/{int(pid)}/cwd") == str(home / "arbcast"):
                    os.kill(int(pid), signal.SIGKILL)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_head_does_not_launch_arbcast_without_redis_url(path: Path, tmp_path: Path) -> None:
    """Without REDIS_URL the launch stops with a message naming it, before anything starts."""
    home = node_home(tmp_path / "home", {k: v for k, v in ENV.items() if k != "REDIS_URL"})
    launch = [c for c in load(path)["head_start_ray_commands"] if "arbcast run" in c]
    assert len(launch) == 1

    done = run_commands(home, launch)

    assert done.returncode != 0 and "REDIS_URL" in done.stderr
    assert not (home / "arbcast-run.pid").exists()


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_setup_puts_the_venv_on_the_login_path_once(path: Path, tmp_path: Path) -> None:
    """Ray's own `ray stop` (run by `ray down` through `bash --login -i`, which sources
    ~/.bashrc) finds the venv's `ray`; running setup again adds no second line."""
    home = node_home(tmp_path / "home", ENV)
    (home / ".bashrc").write_text("# the image's own lines\n")
    path_setup = [c for c in load(path)["setup_commands"] if ".bashrc" in c]
    assert len(path_setup) == 1

    assert run_commands(home, path_setup * 2).returncode == 0

    found = subprocess.run(
        ["bash", "-c", "source ~/.bashrc; command -v ray; grep -c venvs ~/.bashrc"],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found == [str(home / ".venvs/arbcast/bin/ray"), "1"]
