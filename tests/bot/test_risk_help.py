"""The risk help says only what risk does (issue #15): it sizes the suggested position; it does
not filter alerts by spread or confidence, so the help must not promise that."""

from __future__ import annotations

from bot.handlers.preferences import RISK_HELP
from core.models import RiskTolerance


def test_risk_help_promises_only_the_position_size() -> None:
    assert set(RISK_HELP) == set(RiskTolerance)
    for text in RISK_HELP.values():
        assert "position size" in text
        for promise in ("spread", "confidence", "more alerts", "fewer alerts"):
            assert promise not in text
    assert "same alerts" in RISK_HELP[RiskTolerance.LOW]
