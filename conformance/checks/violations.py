"""What a judgement finds: violations that say where they apply, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Violation:
    """A broken requirement, and where: the channel and attempt it concerns, and the moment
    (seconds after creation) it happened, so that readers need not parse the message."""

    requirement: str
    message: str
    channel: str | None = None
    attempt: int | None = None
    moment: float | None = None

    def __str__(self) -> str:
        return f"[{self.requirement}] {self.message}"

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"requirement": self.requirement, "message": self.message}
        if self.channel is not None:
            found["channel"] = self.channel
        if self.attempt is not None:
            found["attempt"] = self.attempt
        if self.moment is not None:
            found["moment"] = round(self.moment, 6)
        return found
