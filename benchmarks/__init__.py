"""`python -m benchmarks.NAME`: each benchmark ends with one JSON line (`benchmarks.report`).

Ray reads its environment when it is imported, and the benchmark modules import ray before
arbcast's `actors`, so the package prepares it here first (token auth, a loopback-only local Ray).
"""

from actors.ray_environment import prepare as _prepare_ray_environment

_prepare_ray_environment()
