"""Pure logic of push distribution: eligibility (scalar and columnar), per-user queues and
Telegram rate limiting. No Ray, Redis, aiogram or network here; hosts wrap these classes.

Import from the modules (`core.distribution.columns`, `.eligibility`, `.user_queue`,
`.rate_limit`, `.settings`): `core.settings` nests `DistributionSettings`, so this package's
root imports nothing that imports `core.settings` back.
"""
