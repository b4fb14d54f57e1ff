"""What the bot and the push actors both need, in three parts:

- `messaging.ui`: the user's text and buttons (callback data, commands, keyboards, the reply
  templates and the push card), so a push and an on-demand reply render the same way and a
  button on a push is handled by the bot's routers;
- `messaging.transport`: how a process talks to Telegram (one `Bot` factory, JSON bodies,
  pacing, leased tokens, flood control, the mark-before-send record, late callback answers);
- `messaging.outbox`: durable delivery (the outbox streams, their messages, the push producer,
  the delivery worker, session reminders).

It sits below `bot/` and `actors/` (it imports aiogram's types, never ray).
"""
