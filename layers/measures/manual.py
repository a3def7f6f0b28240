"""`manual`: a rule planmap cannot measure from the layers yet (needs data or a planner's judgement)."""

from __future__ import annotations

from layers.measures.base import Batch, Measure, RuleOutcome, text
from layers.measures.registry import register


@register
class Manual(Measure):
    name = "manual"
    needs_layer = False

    def evaluate(self, batch: Batch) -> RuleOutcome:
        return RuleOutcome.uniform(batch.idx, "unknown", self.rule.threshold, text(
            "cần dữ liệu hoặc thẩm định chưa có trong planmap", "needs data or judgement not yet in planmap"))

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        return ""
