"""arbcast domain core: models, settings, clock and the Redis store (no ray, no aiogram)."""
