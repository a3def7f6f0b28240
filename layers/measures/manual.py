"""`manual`: a rule planmap cannot measure from the layers yet (needs data or a planner's judgement)."""

from __future__ import annotations

from layers.measures.base import Batch, GridBatch, GridOutcome, Measure, RuleOutcome, text
from layers.measures.registry import register


@register
class Manual(Measure):
    name = "manual"
    needs_layer = False

    NOTE = text("cần dữ liệu hoặc thẩm định chưa có trong planmap", "needs data or judgement not yet in planmap")

    def evaluate(self, batch: Batch) -> RuleOutcome:
        return RuleOutcome.uniform(batch.idx, "unknown", self.rule.threshold, self.NOTE)

    def screen(self, batch: GridBatch) -> GridOutcome:
        return GridOutcome.unknown_everywhere(batch.grid, self.NOTE)

    def sentence(self, status, measured, threshold, related, note, lang) -> str:
        return ""
