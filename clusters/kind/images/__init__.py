"""Every image the kind gate needs, built on this machine without a container registry.

A Debian base made with ``debootstrap`` (``base``), Kubernetes' node and control-plane
binaries built from their Go modules (``kube``), the control-plane and add-on images on that
base and the kind node image that carries them (``node``). Each result is cached under
``~/.cache/notification-conformance`` (or in the engine's image store) keyed by its inputs, so a
second run rebuilds nothing.
"""
