"""The reference controller's cache reads: never older than its own last write of an object."""

from __future__ import annotations

import pytest

from reference_controller.api import Object
from reference_controller.cache import IncomparableVersions, MutationCache, Store, compare_resource_versions

KEY = "ns/n1"


def version(rv: str, attempts: int = 0) -> Object:
    records = [{"channel": "hook", "attempt": n + 1} for n in range(attempts)]
    return {"metadata": {"namespace": "ns", "name": "n1", "resourceVersion": rv}, "status": {"r": records}}


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("9", "10", -1),
        ("10", "9", 1),
        ("123", "123", 0),
        ("99999999999999999999", "100000000000000000000", -1),
    ],
)
def test_resource_versions_compare_as_integers(a: str, b: str, order: int) -> None:
    assert compare_resource_versions(a, b) == order


@pytest.mark.parametrize("bad", ["", "0", "012", "12a", "-3", "١٢"])
def test_a_resource_version_that_is_no_integer_cannot_be_compared(bad: str) -> None:
    with pytest.raises(IncomparableVersions):
        compare_resource_versions(bad, "5")


@pytest.fixture
def cache() -> MutationCache:
    return MutationCache(Store())


def test_the_own_write_is_read_until_the_store_has_it(cache: MutationCache) -> None:
    cache.store.update(KEY, version("5"))
    cache.mutated(KEY, version("6", attempts=1))
    assert cache.get(KEY) == version("6", attempts=1), "the store has not seen the write yet"
    cache.store.update(KEY, version("6", attempts=1))
    assert cache.get(KEY) is cache.store.get(KEY)
    assert len(cache) == 0, "once the store caught up, the write is no longer kept"


def test_a_newer_version_in_the_store_wins_over_the_own_write(cache: MutationCache) -> None:
    cache.store.update(KEY, version("5"))
    cache.mutated(KEY, version("6", attempts=1))
    cache.store.update(KEY, version("8", attempts=1))  # a label change after the write
    assert cache.get(KEY) == version("8", attempts=1)


def test_an_older_write_never_replaces_a_newer_one(cache: MutationCache) -> None:
    cache.store.update(KEY, version("5"))
    cache.mutated(KEY, version("7", attempts=2))
    cache.mutated(KEY, version("6", attempts=1))
    assert cache.get(KEY) == version("7", attempts=2)


def test_a_deleted_object_is_gone_whatever_was_written(cache: MutationCache) -> None:
    cache.store.update(KEY, version("5"))
    cache.mutated(KEY, version("6", attempts=1))
    cache.store.delete(KEY)
    assert cache.get(KEY) is None
    cache.store.update(KEY, version("9"))  # created again under the same name
    assert cache.get(KEY) == version("9")


def test_a_relist_of_one_namespace_keeps_the_objects_of_the_others() -> None:
    store = Store()
    store.replace({"a/n1": version("1"), "b/n1": version("2"), "ab/n1": version("3")})
    store.replace({"a/n2": version("4")}, "a")
    assert store.versions() == {"a/n2": "4", "b/n1": "2", "ab/n1": "3"}
    assert store.versions("a") == {"a/n2": "4"}
    store.replace({"c/n1": version("5")})
    assert store.versions() == {"c/n1": "5"}
