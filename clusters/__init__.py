"""Cluster providers: where the suite gets a Kubernetes API server from."""
