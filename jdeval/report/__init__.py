"""The annual performance-evaluation report (绩效评价报告) and disclosure control.

Public API
----------
``assemble(ds, *, year, ...) -> Report``
    Build the report (domain-spec §5 outline); ``Report.to_docx(path)``,
    ``Report.to_html()``, ``Report.sections``, ``Report.summary_en``.
``fonts.setup()``
    Register the bundled CJK font with matplotlib.
``charts``
    The report's charts (matplotlib figures with Chinese labels).
``formats``
    Chinese number/date/score/grade formatting.
``disclosure.protect(rows, by, value, ...) -> ProtectedTable``
    Small-cell and dominance suppression with complementary suppression.
``narrative.derive(facts, ...)``
    Problems and recommendations from editable YAML rules.
"""

from jdeval.report import charts, disclosure, fonts, formats, narrative
from jdeval.report.assemble import assemble
from jdeval.report.disclosure import ProtectedTable, protect
from jdeval.report.document import Figure, Paragraph, Report, Section, Table

__all__ = [
    "Figure",
    "Paragraph",
    "ProtectedTable",
    "Report",
    "Section",
    "Table",
    "assemble",
    "charts",
    "disclosure",
    "fonts",
    "formats",
    "narrative",
    "protect",
]
