"""Ray actors over plain logic classes; `actors.factory` is the one place they are made."""

from actors.ray_environment import prepare as _prepare_ray_environment

# Before anything here imports ray: Ray reads these settings when it loads.
_prepare_ray_environment()
