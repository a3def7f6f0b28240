"""Rule types ("measures"), one module each; importing the package registers every module found here.

To add a rule type: write a module in this folder with a `Measure` subclass decorated with `@register`, and use
its name as `measure:` in data/rules.yaml.  Nothing else needs to know about it.
"""

import importlib
import pkgutil

from layers.measures.base import STATUS_RANK, Batch, GridBatch, GridOutcome, Measure, Role, RuleOutcome, Subset
from layers.measures.registry import MEASURES, evidence_roles, measure_class, register

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "registry"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["MEASURES", "STATUS_RANK", "Batch", "GridBatch", "GridOutcome", "Measure", "Role", "RuleOutcome", "Subset",
           "evidence_roles",
           "measure_class", "register"]
