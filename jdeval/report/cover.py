"""The report's cover page and signature block (封面、签署页).

The evaluator fills a ``cover:`` section in the yearly narrative file
(``data/narrative/overrides_<year>.yaml``)::

    cover:
      evaluator: 上海市嘉定区经济委员会        # 评价机构 / 自评单位
      mode: 单位自评                          # must agree with the weighting scheme
      commissioning: 上海市嘉定区财政局        # 委托单位
      report_number: 嘉经绩评〔2025〕1号
      report_date: 2025-03-31
      fieldwork: [2025-01-06, 2025-02-28]      # 现场工作期间
      team:
        - {name: 张某某, role: 项目负责人}
      signatures: [项目负责人, 复核人, 单位负责人]

The evaluation mode (评价方式) follows the weighting scheme of the targets file: the
scheme's Chinese name lists the modes it serves (scheme A: 单位自评; scheme B:
部门评价/财政评价/第三方政策评价), and a ``mode`` outside that list is a
:class:`~jdeval.errors.ConfigError` — a scheme-A score must never be presented as a
third-party evaluation.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jdeval.errors import ConfigError, ProblemList
from jdeval.indicators.yamlsource import load_yaml
from jdeval.report import formats

__all__ = [
    "Cover",
    "CoverPage",
    "cover_page",
    "TeamMember",
    "cover_fields",
    "evaluation_modes",
    "load_cover",
]


class TeamMember(BaseModel):
    """One member of the evaluation team (评价工作组)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    role: str = ""
    unit: str = ""


class Cover(BaseModel):
    """The ``cover:`` section of a narrative file.

    Attributes
    ----------
    evaluator
        The body that performed the evaluation (评价机构; under 单位自评 the
        project unit itself, printed as 自评单位).
    mode
        评价方式; empty = the first mode the scheme allows.
    commissioning
        委托单位 (empty under 单位自评 = not printed).
    report_number, report_date
        报告编号 and 报告日期 (``None`` = the build date).
    fieldwork
        Start and end of the fieldwork (现场工作期间).
    team
        Evaluation team, listed in the signature block.
    signatures
        Roles that sign (签字栏), in order.
    """

    model_config = ConfigDict(extra="forbid")
    evaluator: str = ""
    mode: str = ""
    commissioning: str = ""
    report_number: str = ""
    report_date: _dt.date | None = None
    fieldwork: tuple[_dt.date, _dt.date] | None = None
    team: list[TeamMember] = Field(default_factory=list)
    signatures: list[str] = Field(default_factory=list)


def load_cover(path: str | Path | None) -> Cover:
    """Read the ``cover:`` section of a narrative file (an empty :class:`Cover` if
    ``path`` is ``None`` or the file has no such section).

    Raises
    ------
    ConfigError
        Unreadable YAML, unknown keys or wrong types, located by file and key.
    """
    if path is None:
        return Cover()
    path = Path(path)
    probs = ProblemList()
    # one reader for hand-edited YAML: size/alias limits, GBK/UTF-16, located errors
    data, _ = load_yaml(path, what_zh="叙述与封面", what_en="narrative and cover")
    section = (data or {}).get("cover") if isinstance(data, Mapping) else None
    if section is None:
        return Cover()
    try:
        return Cover.model_validate(section)
    except ValidationError as e:
        for err in e.errors():
            key = ".".join(str(x) for x in err["loc"])
            probs.error(
                "cover_field",
                f"封面设置 cover.{key} 有误：{err['msg']}",
                f"cover.{key}: {err['msg']}",
                file=str(path),
                column=f"cover.{key}",
                value=err.get("input"),
            )
        probs.raise_if_errors(ConfigError, "封面设置有误 / bad cover settings")
        raise  # pragma: no cover - every validation error was recorded above


def evaluation_modes(scheme: str, schemes: Mapping) -> list[str]:
    """The evaluation modes a weighting scheme serves, from its Chinese name in the
    targets file (``单位自评（…）`` → ``["单位自评"]``;
    ``部门评价/财政评价/第三方政策评价（…）`` → three modes)."""
    entry = schemes.get(scheme)
    if entry is None:
        probs = ProblemList()
        probs.error(
            "scheme",
            f"绩效目标文件中没有权重方案 {scheme}（已定义：{sorted(schemes)}）。",
            f"the targets file defines no scheme {scheme} ({sorted(schemes)}).",
            value=scheme,
        )
        probs.raise_if_errors(ConfigError, "权重方案未定义 / unknown weighting scheme")
    zh = entry["zh"] if isinstance(entry, Mapping) else getattr(entry, "zh", entry)
    name = re.split(r"[（(]", str(zh), maxsplit=1)[0]
    return [m.strip() for m in name.split("/") if m.strip()]


def _mode(cover: Cover, scheme: str, schemes: Mapping) -> str:
    modes = evaluation_modes(scheme, schemes)
    if not cover.mode:
        return modes[0]
    if cover.mode not in modes:
        probs = ProblemList()
        probs.error(
            "cover_mode",
            f"封面评价方式“{cover.mode}”与权重方案 {scheme} 不一致"
            f"（方案 {scheme} 适用于：{'、'.join(modes)}）。",
            f"cover mode {cover.mode!r} does not fit scheme {scheme} "
            f"(it serves: {', '.join(modes)}).",
            column="cover.mode",
            value=cover.mode,
        )
        probs.raise_if_errors(
            ConfigError, "评价方式与权重方案不一致 / mode contradicts the scheme"
        )
    return cover.mode


def cover_fields(
    cover: Cover,
    *,
    year: int,
    scheme: str,
    schemes: Mapping,
    department: str,
    as_of: _dt.date | None,
    edition: str,
    build_date: _dt.date,
    policy: str = "推进制造业智能化改造和数字化转型",
) -> dict[str, str]:
    """The cover lines, in print order (label → text).

    Parameters
    ----------
    cover
        The evaluator's settings (:func:`load_cover`).
    year, scheme, schemes
        Evaluation year; weighting scheme and the targets file's ``schemes``.
    department, policy
        项目主管部门 and the policy's name (from the policy declaration).
    as_of
        评价基准日 (the date the data are taken as of).
    edition
        版本 line (评审版 / 内部版 wording).
    build_date
        Date used when ``cover.report_date`` is not set.

    Raises
    ------
    ConfigError
        When ``cover.mode`` contradicts the scheme.
    """
    mode = _mode(cover, scheme, schemes)
    self_eval = mode == "单位自评"
    fields = {
        "评价对象": f"“{policy}”政策（{year}年度）",
        "项目主管部门": department,
    }
    if cover.commissioning and not self_eval:
        fields["委托单位"] = cover.commissioning
    fields["评价方式"] = mode
    fields["自评单位" if self_eval else "评价机构"] = cover.evaluator or department
    if as_of is not None:
        fields["评价基准日"] = formats.date_zh(as_of)
    if cover.fieldwork is not None:
        a, b = cover.fieldwork
        _check_fieldwork(b, as_of)
        fields["现场工作期间"] = f"{formats.date_zh(a)}至{formats.date_zh(b)}"
    if cover.report_number:
        fields["报告编号"] = cover.report_number
    fields["报告日期"] = formats.date_zh(cover.report_date or build_date)
    fields["版本"] = edition
    return fields


def _check_fieldwork(end: _dt.date, as_of: _dt.date | None) -> None:
    """Refuse fieldwork that ended before the data's reference date (评价基准日)."""
    if as_of is None or end >= as_of:
        return
    probs = ProblemList()
    probs.error(
        "cover_fieldwork",
        f"现场工作期间结束于{formats.date_zh(end)}，早于评价基准日"
        f"{formats.date_zh(as_of)}：评价所用数据截至基准日，现场工作不能在此之前结束。"
        "请修改叙述文件 cover.fieldwork 或 --as-of。",
        f"fieldwork ended {end} before the reference date {as_of}; "
        "fix cover.fieldwork in the narrative file or --as-of.",
        column="cover.fieldwork",
        value=str(end),
    )
    probs.raise_if_errors(
        ConfigError, "现场工作期间早于评价基准日 / fieldwork before the reference date"
    )


@dataclass(frozen=True)
class CoverPage:
    """What the renderers print: cover lines, team and signing roles."""

    fields: dict[str, str]
    team: list[dict[str, str]]
    signatures: list[str]


def cover_page(
    narrative: str | Path | None,
    *,
    year: int,
    scheme: str,
    schemes: Mapping,
    policy: str,
    department: str,
    as_of: _dt.date | None,
    edition: str,
    build_date: _dt.date,
) -> CoverPage:
    """Read the narrative file's ``cover:`` section and lay out the cover page.

    One call for :func:`jdeval.report.assemble`: pass ``page.fields`` as
    ``Report.cover`` and ``page.team`` / ``page.signatures`` to the Report.
    """
    c = load_cover(narrative)
    fields = cover_fields(
        c,
        year=year,
        scheme=scheme,
        schemes=schemes,
        policy=policy,
        department=department,
        as_of=as_of,
        edition=edition,
        build_date=build_date,
    )
    team = [m.model_dump() for m in c.team]
    return CoverPage(fields=fields, team=team, signatures=list(c.signatures))
