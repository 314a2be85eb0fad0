"""Satisfaction survey analysis (满意度调查): index, top-2-box, Wilson CI, alpha."""

from jdeval.survey.analysis import SurveyResult, analyse, survey_frame
from jdeval.survey.likert import (
    cronbach_alpha,
    satisfaction_index,
    top2_rate,
    wilson_ci,
)
from jdeval.survey.population import approved_awards, funded_firms

__all__ = [
    "SurveyResult",
    "analyse",
    "approved_awards",
    "cronbach_alpha",
    "funded_firms",
    "satisfaction_index",
    "survey_frame",
    "top2_rate",
    "wilson_ci",
]
