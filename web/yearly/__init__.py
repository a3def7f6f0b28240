"""The yearly supervision report as the department files it: an A4 PDF (Vietnamese first) and the same tables as
XLSX for its own spreadsheets.

Both are drawn from one report document (layers/yearly.py `yearly_report`): the indicators of GET /indicators at
the year's end and at the previous year's end, by 2025 commune and by pre-2025 district, and what they were
computed from.  Nothing here computes a figure: every number printed is one of the document's, so it can be traced
through the appendix (layers, revisions, fingerprints) to the data.

Modules: texts (words in both languages, number formats), pdf (`yearly_pdf`), xlsx (`yearly_xlsx`).
"""

from .pdf import plan_maps, yearly_pdf
from .xlsx import yearly_xlsx

__all__ = ["plan_maps", "yearly_pdf", "yearly_xlsx"]
