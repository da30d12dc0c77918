"""The reference controller run as an operator runs it: replicas, metrics, Events, Secrets."""
