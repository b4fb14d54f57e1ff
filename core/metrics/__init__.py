"""Prometheus metrics of a process: what the figures are (`figures`) and how /metrics shows
them (`exposition`)."""
