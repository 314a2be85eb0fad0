"""Figures that must agree wherever they appear (report HTML, Word, index page …).

:func:`figures` extracts, from a rendered text, every number written right after
one of the labels in :data:`LABELS` (a quantity with one definition, e.g.
``有效核定补贴3,205.00万元``); :func:`disagreements` compares the figures of
several outputs and lists each label shown with more than one value.  A label
whose meaning depends on its context (``得分`` of each indicator) is not listed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "LABELS",
    "Disagreement",
    "disagreements",
    "figures",
    "precision_conflicts",
    "text_of_html",
]

#: Label → regex of the figure following it (the first group is the number).
LABELS: dict[str, str] = {
    "受理申报": r"受理申报(\d[\d,]*)项",
    "核定（含已追回）": r"(?<!有效)核定(\d[\d,]*)项",
    "有效核定": r"有效核定(\d[\d,]*)项",
    "有效核定补贴": r"有效核定补贴(\d[\d,]*\.\d\d)万元",
    "已拨付金额": r"已拨付(\d[\d,]*\.\d\d)万元",
    "年初预算": r"年初预算(?:数)?(\d[\d,]*\.\d\d)万元",
    "调整后预算": r"调整后预算(?:数)?(\d[\d,]*\.\d\d)万元",
    "到位资金": r"到位资金(\d[\d,]*\.\d\d)万元",
    "实际支出": r"实际支出(\d[\d,]*\.\d\d)万元",
    # computed rates are always shown with decimals ("预算执行率10%" is a weight)
    "资金到位率": r"资金到位率(\d[\d,]*\.\d+)%",
    "预算执行率": r"预算执行率(\d[\d,]*\.\d+)%",
    "回收率": r"回收率(\d+(?:\.\d+)?)%",
    "规上工业企业": r"规上工业企业(\d[\d,]*)家",
    "总得分": r"绩效评价得分为(\d+\.\d\d)分",
    "评价等级": r"评价等级为“(.)”",
    "较上年变化": r"较上年(?:提高|下降)(\d+\.\d\d)分",
    "评价基准日": r"评价基准日为(\d{4}年\d{1,2}月\d{1,2}日)",
    "综合满意度": r"综合满意度(?:为)?(\d+\.\d\d)",
    "满意率": r"满意率(?:（[^）]*）)?(?:为)?(\d+(?:\.\d+)?)%",
    "毛撬动比": r"为核定补贴的(\d+\.\d\d)倍",
    "项目总投资": r"项目总投资(\d[\d,]*\.\d\d)万元",
    # text "平均发放时长75.3天", the KPI row "平均发放时长（天）—75.3天", an indicator
    # cell "平均发放75天": one quantity, one precision
    "平均发放时长": r"平均发放(?:时长)?(?:（[^）]{0,8}）)?—?(\d+(?:\.\d+)?)天",
}

#: ``<label><number><unit>`` anywhere in running text (for :func:`precision_conflicts`).
_LABELLED = re.compile(
    r"([\u4e00-\u9fff]{2,6})(?:为|约|达)?(\d[\d,]*(?:\.\d+)?)(万元|天|家|项|个|%|倍|分)"
)


@dataclass
class Disagreement:
    """A label shown with different values: ``{output: {values}}``."""

    label: str
    values: dict[str, set[str]]

    def __str__(self) -> str:
        parts = "; ".join(f"{k}: {sorted(v)}" for k, v in self.values.items())
        return f"{self.label} — {parts}"


def text_of_html(html: str) -> str:
    """Visible text of an HTML page (tags removed, whitespace collapsed)."""
    import html as _html

    t = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    t = re.sub(r"<[^>]+>", "", t)
    return re.sub(r"\s+", "", _html.unescape(t))


def figures(text: str) -> dict[str, set[str]]:
    """Label → the set of values written after it in ``text``."""
    flat = re.sub(r"\s+", "", text)
    out: dict[str, set[str]] = {}
    for label, pat in LABELS.items():
        vals = set(re.findall(pat, flat))
        if vals:
            out[label] = vals
    return out


def _decimals(v: str) -> int:
    return len(v.split(".")[1]) if "." in v else 0


def precision_conflicts(text: str) -> dict[str, set[str]]:
    """Labels written with one quantity at two precisions (``…75天`` / ``…75.3天``).

    Any label (the 2–6 Chinese characters right before a number and its unit),
    not only those of :data:`LABELS`: a value that is another value of the same
    label and unit rounded to fewer decimals is the same figure shown twice.
    """
    seen: dict[tuple[str, str], set[str]] = {}
    for lab, num, unit in _LABELLED.findall(re.sub(r"\s+", "", text)):
        seen.setdefault((lab, unit), set()).add(num)
    out: dict[str, set[str]] = {}
    for (lab, unit), vals in seen.items():
        for a in vals:
            for b in vals:
                fa, fb = float(a.replace(",", "")), float(b.replace(",", ""))
                if _decimals(a) < _decimals(b) and round(fb, _decimals(a)) == fa:
                    out.setdefault(f"{lab}（{unit}）", set()).update({a, b})
    return out


def disagreements(outputs: Mapping[str, str]) -> list[Disagreement]:
    """Labels shown with more than one value within or across ``outputs``.

    Both the figures of :data:`LABELS` and, for every other label, the same
    quantity shown at two precisions (:func:`precision_conflicts` over the
    outputs together).
    """
    per = {name: figures(text) for name, text in outputs.items()}
    joined = "\n".join(outputs.values())
    for label, vals in sorted(precision_conflicts(joined).items()):
        per.setdefault("_precision", {})[label] = vals
    labels = sorted({k for f in per.values() for k in f})
    out = []
    for label in labels:
        vals = {name: f[label] for name, f in per.items() if label in f}
        union = set().union(*vals.values())
        if len(union) > 1:
            out.append(Disagreement(label, vals))
    return out
