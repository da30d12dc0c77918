"""The API server's own request counters (``apiserver_request_total`` on ``/metrics``).

Read before and after an experiment; the difference is what every client did in
between, counted by the server itself rather than by any client.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from kubernetes import client

METRIC = "apiserver_request_total"
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


@dataclass(frozen=True, order=True)
class RequestKind:
    """What a request did, as the API server labels it."""

    verb: str
    group: str
    resource: str
    subresource: str
    code: str

    def label(self) -> str:
        target = self.resource + (f"/{self.subresource}" if self.subresource else "")
        return f"{self.verb} {target} {self.code}"


Counts = Counter[RequestKind]


def parse(text: str) -> Counts:
    """The request counters in a Prometheus text exposition."""
    counts: Counts = Counter()
    for line in text.splitlines():
        if not line.startswith(METRIC + "{"):
            continue
        match = _SAMPLE.match(line)
        if match is None or match["name"] != METRIC:
            continue
        labels = {m["key"]: m["value"] for m in _LABEL.finditer(match["labels"] or "")}
        kind = RequestKind(
            labels.get("verb", ""),
            labels.get("group", ""),
            labels.get("resource", ""),
            labels.get("subresource", ""),
            labels.get("code", ""),
        )
        counts[kind] += int(float(match["value"]))
    return counts


def difference(before: Counts, after: Counts) -> Counts:
    """Requests counted between two reads (counters only grow while the server runs)."""
    result: Counts = Counter()
    for kind, value in after.items():
        delta = value - before.get(kind, 0)
        if delta:
            result[kind] = delta
    return result


def read(api_client: client.ApiClient) -> Counts:
    """Fetch and parse ``/metrics`` with the client's own connection pool, TLS settings and token."""
    configuration: Any = api_client.configuration
    headers = {}
    token = configuration.api_key.get("BearerToken") or configuration.api_key.get("authorization")
    if token:
        headers["Authorization"] = token
    response: Any = api_client.rest_client.pool_manager.request(
        "GET", configuration.host + "/metrics", headers=headers, timeout=30
    )
    if response.status != 200:
        raise RuntimeError(f"GET /metrics answered HTTP {response.status}")
    return parse(response.data.decode())


def select(counts: Counts, group: str | None = None, resource: str | None = None) -> Counts:
    """The counters of one API group and/or resource."""
    return Counter(
        {
            kind: value
            for kind, value in counts.items()
            if (group is None or kind.group == group) and (resource is None or kind.resource == resource)
        }
    )


def total(counts: Counts, verbs: tuple[str, ...] = (), subresource: str | None = None) -> int:
    """How many requests, optionally only of some verbs and one subresource."""
    return sum(
        value
        for kind, value in counts.items()
        if (not verbs or kind.verb in verbs) and (subresource is None or kind.subresource == subresource)
    )


def table(counts: Counts) -> dict[str, int]:
    """Counters keyed by a readable label, for reports."""
    return {kind.label(): value for kind, value in sorted(counts.items())}
