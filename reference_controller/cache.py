"""The informer's copy of every object, and a view of it that is never older than this
controller's own writes, after client-go's ``cache.Store`` and ``cache.MutationCache``.

The watch delivers a status write some milliseconds after the write returned. A
reconcile that read the cache in between would see the status before the write: the
attempts it recorded missing, so those channels due again. The mutation cache keeps the
object each status write returned and serves it until the cache holds that version or
a newer one. Resource versions of one resource are comparable integers (KEP-5504,
GA in Kubernetes 1.35; etcd's revisions before that): the newer object wins.
"""

from __future__ import annotations

import threading

from reference_controller.api import Object


class IncomparableVersions(ValueError):
    """A resourceVersion is not a positive integer without leading zeros."""


def compare_resource_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as or newer than ``b``, after apimachinery's
    ``resourceversion.CompareResourceVersion``."""
    for version in (a, b):
        if not version.isascii() or not version.isdigit() or version.startswith("0"):
            raise IncomparableVersions(f"resourceVersion {version!r} is not a positive integer")
    if len(a) != len(b):
        return -1 if len(a) < len(b) else 1
    return (a > b) - (a < b)


def version_of(obj: Object) -> str:
    return str(obj["metadata"]["resourceVersion"])


class Store:
    """Objects by ``namespace/name``, safe to share between the informer and the workers."""

    def __init__(self) -> None:
        self._objects: dict[str, Object] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Object | None:
        with self._lock:
            return self._objects.get(key)

    def update(self, key: str, obj: Object) -> None:
        with self._lock:
            self._objects[key] = obj

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def replace(self, objects: dict[str, Object], namespace: str | None = None) -> None:
        """Hold ``objects`` instead of what it held, or, given a namespace, of what it held there:
        informers of several namespaces share one store."""
        with self._lock:
            kept = {k: o for k, o in self._objects.items() if namespace and not _within(k, namespace)}
            self._objects = {**kept, **objects}

    def versions(self, namespace: str | None = None) -> dict[str, str]:
        with self._lock:
            return {
                key: version_of(obj)
                for key, obj in self._objects.items()
                if not namespace or _within(key, namespace)
            }


def _within(key: str, namespace: str) -> bool:
    return key.startswith(f"{namespace}/")


class MutationCache:
    """Reads from ``store``, or this controller's own later write of the same object.

    ``mutated`` records what a write returned; ``get`` serves it while the store holds an older
    version, and drops it once the store caught up. An object the store no longer holds was
    deleted: ``get`` returns None whatever was written before."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._written: dict[str, Object] = {}
        self._lock = threading.Lock()

    def mutated(self, key: str, obj: Object) -> None:
        with self._lock:
            current = self._written.get(key)
            if current is None or compare_resource_versions(version_of(obj), version_of(current)) > 0:
                self._written[key] = obj

    def get(self, key: str) -> Object | None:
        """The newer of the cached object and this controller's last write of it.

        Raises IncomparableVersions when the API server's versions are not integers: the
        caller must then read the object from the API server."""
        cached = self.store.get(key)
        with self._lock:
            written = self._written.get(key)
            if cached is None:
                self._written.pop(key, None)
                return None
            if written is None:
                return cached
            if compare_resource_versions(version_of(cached), version_of(written)) >= 0:
                del self._written[key]
                return cached
            return written

    def __len__(self) -> int:
        with self._lock:
            return len(self._written)
