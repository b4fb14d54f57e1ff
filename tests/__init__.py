"""arbcast's test suite.

Ray reads its environment when it is imported, and test modules import ray before arbcast's
`actors` (third-party imports come first), so the suite prepares it here, before any of them:
the suite's local Ray then runs as `arbcast run`'s does (token auth, loopback only).
"""

from actors.ray_environment import prepare as _prepare_ray_environment

_prepare_ray_environment()
