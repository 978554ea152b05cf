"""Pages from the Jinja2 templates in the reader's language (zh-CN or en: a `lang` choice kept in a
cookie, else the browser's Accept-Language), with times in the display time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from orderbridge.notify.i18n import PAGE_LABELS, Language, format_age, format_datetime, label, rule_label
from orderbridge.web.access import csrf_token

LANGUAGE_COOKIE = "orderbridge_lang"
ENVIRONMENT = Environment(
    loader=PackageLoader("orderbridge.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def language(request: Request) -> Language:
    chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    for option in Language:
        if chosen == option.value:
            return option
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return Language.zh_cn
        if tag.startswith("en"):
            return Language.en
    return Language.en


def without_lang(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]


class Renderer:
    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def page(
        self, request: Request, template: str, context: Mapping[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        lang = language(request)

        def t(key: str, **values: object) -> str:
            return label(lang, key, **values)

        def when(moment: datetime | None) -> str:
            return format_datetime(moment, lang, self.zone) if moment is not None else "–"

        def age(span: timedelta) -> str:
            return format_age(span, lang)

        def event(kind: str) -> str:
            return label(lang, f"event_{kind}") if f"event_{kind}" in PAGE_LABELS[lang] else kind

        other = Language.en if lang is Language.zh_cn else Language.zh_cn
        html = ENVIRONMENT.get_template(template).render(
            t=t,
            when=when,
            age=age,
            event=event,
            rule_label=lambda rule: rule_label(lang, rule),
            lang=lang.value,
            other_lang=other.value,
            # The same page with its filters, in the other language.
            lang_link="?" + urlencode([*without_lang(request), ("lang", other.value)]),
            path=request.url.path,
            user=getattr(request.state, "user", None),
            csrf=csrf_token(request),
            **context,
        )
        response = HTMLResponse(html, status_code=status_code, headers={"cache-control": "no-store"})
        if request.query_params.get("lang") == lang.value:
            response.set_cookie(LANGUAGE_COOKIE, lang.value, max_age=365 * 86400, samesite="lax")
        return response
