"""Indicators: read the 绩效目标申报表, measure every indicator, score and grade.

Public API::

    read_declaration(path) -> Declaration
    load_targets(path=None) -> Targets          # default data/targets/zgsz_2024.yaml
    load_assessments(path) -> Assessments
    evaluate(ds, targets, *, year, scheme="A", assessments=None) -> Scorecard
    check_inputs(ds, *, year, targets=None, assessments=None) -> warnings
    targets.grade_for(score) -> grade               # the one score→grade mapping
"""

from jdeval.indicators.assessments import Assessments, load_assessments
from jdeval.indicators.declaration import Declaration, parse_target, read_declaration
from jdeval.indicators.scorecard import Scorecard, check_inputs, evaluate
from jdeval.indicators.targets import (
    Targets,
    default_targets_path,
    load_targets,
    targets_from_declaration,
    write_targets,
)

__all__ = [
    "Assessments",
    "Declaration",
    "Scorecard",
    "Targets",
    "check_inputs",
    "default_targets_path",
    "evaluate",
    "load_assessments",
    "load_targets",
    "parse_target",
    "read_declaration",
    "targets_from_declaration",
    "write_targets",
]
