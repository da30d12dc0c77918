"""The recording webhook sink, run as a process of its own, and its small JSON-over-HTTP helper."""
