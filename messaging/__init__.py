"""What the bot and the push actors both need: callback data, message templates, keyboards.

It sits below `bot/` and `actors/` (it imports aiogram's types, never ray), so a push and an
on-demand reply render an opportunity the same way, and a button on a push is handled by the
bot's routers.
"""
