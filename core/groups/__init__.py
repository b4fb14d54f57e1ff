"""Groups and channels the bot is in: their configuration (`GroupConfig`) and its Redis store.

Kept free of `core.settings` imports at package level so that settings may compose
`core.group_settings` without a cycle; import the modules themselves
(`core.groups.models`, `core.groups.store`, `core.groups.admin_cache`).
"""
