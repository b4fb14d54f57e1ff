"""Validation records: one per decision of each level (the design's opportunity_validation_log)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

OK = "ok"


class ValidationLevel(IntEnum):
    MARKET = 1
    TECHNICAL = 2
    USER = 3  # per-user checks live in the distribution layer, not here
    SCORING = 4


@dataclass(frozen=True, slots=True)
class ValidationRecord:
    opportunity_id: str
    level: ValidationLevel
    passed: bool
    reason: str  # "ok" when passed, else the first failed check
    figures: dict[str, float]
    ts: float
    key: str = ""  # type|symbol|buy_exchange|sell_exchange

    def to_dict(self) -> dict[str, Any]:
        return {
            "opportunity_id": self.opportunity_id,
            "level": int(self.level),
            "passed": self.passed,
            "reason": self.reason,
            "figures": dict(self.figures),
            "ts": self.ts,
            "key": self.key,
        }
