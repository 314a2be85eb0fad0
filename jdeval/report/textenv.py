"""The Jinja2 environments that turn facts into report wording.

Two environments share the same filters:

* :func:`text_env` renders the Chinese/English wording templates in
  ``jdeval/report/templates/{zh,en}/*.txt.j2`` and the narrative rules to *plain
  text* (no autoescape: the text is escaped later by the HTML templates and is
  stored as plain text in Word);
* :func:`html_env` renders ``templates/html/*.html.j2`` with autoescape on, so any
  text coming from data (a firm name ``<script>…``) stays text.

Rule conditions and templates from evaluator-editable YAML run in a sandbox.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from jdeval.report import formats

__all__ = [
    "TEMPLATE_DIR",
    "html_env",
    "paragraphs",
    "rule_condition",
    "rule_env",
    "rule_template",
    "text_env",
    "tidy",
]

TEMPLATE_DIR = Path(__file__).parent / "templates"

_CJK = r"\u2e80-\u9fff\u3000-\u303f\uff00-\uffef“”‘’—…"
_SPACE_CJK = re.compile(rf"(?<=[{_CJK}])[ \t\r\n]+|[ \t\r\n]+(?=[{_CJK}])")
_SPACES = re.compile(r"[ \t\r\n]+")


def tidy(text: str) -> str:
    """Collapse whitespace; drop spaces next to Chinese characters/punctuation.

    YAML folded blocks and template line breaks join lines with spaces, which
    Chinese typesetting does not use.
    """
    return _SPACE_CJK.sub("", _SPACES.sub(" ", text)).strip()


def paragraphs(text: str) -> list[str]:
    """Split rendered template text into tidy paragraphs: one paragraph per line.

    Wording templates write each paragraph on one line (blank lines between
    paragraphs are optional and ignored).
    """
    return [p for p in (tidy(x) for x in text.splitlines()) if p]


def _counts(shares, unit: str = "项") -> str:
    """``[Share("区级智能工厂", 4), …]`` → ``区级智能工厂4项、…``."""
    return "、".join(f"{s.name}{s.n}{unit}" for s in shares or [])


def _filters() -> dict:
    return {
        "counts": _counts,
        "wan": formats.wan,
        "pct": lambda x, d=2: formats.percent(x, d),
        "pct100": lambda x, d=2: formats.percent(x, d, fraction=False),
        "score": formats.score,
        "int": formats.integer,
        "number": lambda x, d=2: formats.number(x, d),
        "date": formats.date_zh,
        "ratio": formats.ratio,
        "pvalue": formats.pvalue,
        "p_text": formats.p_text,
    }


def _setup(env: jinja2.Environment) -> jinja2.Environment:
    env.filters.update(_filters())
    env.trim_blocks = True
    env.lstrip_blocks = True
    return env


@lru_cache(maxsize=1)
def text_env() -> jinja2.Environment:
    """Environment for plain-text wording templates (strict undefined).

    One paragraph per template line: block tags do not eat the line break after
    them (``trim_blocks`` off), so a line ending in ``{% endif %}`` stays its own
    paragraph; lines holding only a tag render empty and are dropped.
    """
    env = _setup(
        jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
    )
    env.trim_blocks = False
    return env


@lru_cache(maxsize=1)
def html_env() -> jinja2.Environment:
    """Environment for HTML templates: autoescape on for every template."""
    return _setup(
        jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
    )


@lru_cache(maxsize=1)
def rule_env() -> SandboxedEnvironment:
    """Sandboxed environment for conditions and templates in narrative YAML."""
    env = SandboxedEnvironment(autoescape=False, undefined=jinja2.StrictUndefined)
    return _setup(env)


# The narrative rules hold ~700 small templates; compiling them is most of the cost
# of re-wording a report (~2 s a build), so each source text is compiled once per
# process.  A syntax error is not cached and is raised again on the next call.
@lru_cache(maxsize=8192)
def rule_template(src: str) -> jinja2.Template:
    """The compiled narrative template for ``src`` (:func:`rule_env`)."""
    return rule_env().from_string(src)


@lru_cache(maxsize=8192)
def rule_condition(src: str):
    """The compiled narrative condition ``src``; undefined names raise when called."""
    return rule_env().compile_expression(src, undefined_to_none=False)
