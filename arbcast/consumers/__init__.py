"""The stream consumers a process runs beside the actors: the distributor (opportunity changes to
the shards), the ack router (delivered message ids back to the queues) and the consumer-group
reader they share (dead letters, backoff). They are plain asyncio loops, not actors."""
