"""Pages from Jinja2 templates, one environment per language (each with its gettext catalogue), with the
formatting filters bound to that language."""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import Any, cast

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from crowdexports.exports import failures
from crowdexports.exports.filter_words import describe_changes, describe_filters
from crowdexports.exports.layout_words import describe_layout
from crowdexports.exports.summary_words import summary_lines
from crowdexports.schedules.words import describe_rule
from crowdexports.web import i18n

TEMPLATES = Path(__file__).parent / "templates"
STATIC_PREFIX = "/web/static"


def static_url(path: str) -> str:
    return f"{STATIC_PREFIX}/{path}"


@lru_cache(maxsize=len(i18n.LANGS))
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    # Added by the i18n extension at run time, so unknown to the type checker.
    cast(Any, env).install_gettext_translations(i18n.translations(lang), newstyle=True)
    env.globals.update(lang=lang, lang_names=i18n.LANG_NAMES, langs=i18n.LANGS, static=static_url)
    env.filters.update(local_time=partial(_local_time, lang=lang), number=partial(i18n.number, lang=lang),
                       file_size=partial(i18n.file_size, lang=lang), zone_name=partial(i18n.zone_name, lang=lang),
                       failure=partial(failures.in_language, lang=lang),
                       filter_words=partial(describe_filters, lang=lang),
                       changes_words=partial(describe_changes, lang=lang),
                       layout_words=partial(describe_layout, lang=lang),
                       rule_words=partial(describe_rule, lang=lang),
                       summary_words=partial(summary_lines, lang=lang))
    return env


def _local_time(moment: str | None, timezone: str, *, lang: str) -> str:
    return i18n.local_time(moment, timezone, lang)


def render(template: str, lang: str, **context: Any) -> str:
    return environment(lang).get_template(template).render(**context)


def page(template: str, lang: str, *, status: int = 200, headers: dict[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, lang, **context), status_code=status, headers=headers)
