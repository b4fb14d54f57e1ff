"""Durable delivery: the partitioned outbox streams and their messages, the push producer, the
delivery worker that drains them, and the session reminders it sends."""
