"""What Ray must be told before it is imported: token auth, and loopback for a local Ray.

Ray reads both from the environment when its modules load, so they are set here, by the first
import of `actors` (before `actors.factory` imports ray), not in `ensure_ray`:

- ``RAY_AUTH_MODE=token``: every RPC to the cluster carries a shared token (a local Ray makes
  one under ``~/.ray/auth_token``; on a cluster every node is given the same one). Ray 2.60 turns
  it on for local clusters by default; arbcast sets it explicitly so that an older default, or a
  cluster started with it, never runs unauthenticated.
- A local Ray (no ``ARBCAST_RAY__ADDRESS`` in the environment or ``.env``) binds every server
  (GCS, raylets, workers) to 127.0.0.1: Ray otherwise takes the address of the machine's
  outward interface as the node's and listens on all interfaces. ``RAY_ENABLE_WINDOWS_OR_OSX_
  CLUSTER=0`` is the switch Ray offers for it (single-node, loopback-only). A process that joins
  a cluster keeps Ray's default, since other nodes must reach its workers.

An operator's own values of these variables win (``setdefault``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from dotenv import dotenv_values

LOCAL_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
ADDRESS_SETTING = "ARBCAST_RAY__ADDRESS"


def joins_a_cluster(environ: Mapping[str, str], dotenv: Path = Path(".env")) -> bool:
    """Whether the settings name a Ray cluster to join (the environment, else `.env`, as
    `Settings` reads them)."""
    if environ.get(ADDRESS_SETTING):
        return True
    return dotenv.is_file() and bool(dotenv_values(dotenv).get(ADDRESS_SETTING))


def prepare(environ: MutableMapping[str, str] = os.environ, dotenv: Path = Path(".env")) -> None:
    environ.setdefault("RAY_AUTH_MODE", "token")
    if not joins_a_cluster(environ, dotenv):
        environ.setdefault(LOCAL_ONLY, "0")
