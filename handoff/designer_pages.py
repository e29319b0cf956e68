"""The bot designers' page: customer messages that fell back or scored low in a date range, grouped by the
intent they most resemble, each with the conversation around it; a selection exports as Rasa NLU YAML under
a chosen intent (a training-data candidate file). For supervisors and admins, like the dashboard.

The texts come from analytics' review store (analytics/nlu_records.py, kept `ANALYTICS_REVIEW_TEXT_DAYS`);
numbers are taken out of every text shown or exported (analytics/nlu_export.py). The list is a GET page; the
export is a CSRF-protected POST form, as every inbox form.
"""

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, List, Tuple

from flask import Blueprint, Response, abort, g, render_template, request

from analytics.figures import InvalidRange, parse_range
from analytics.nlu_export import grouped, training_file, training_intents
from analytics.nlu_records import LIST_LIMIT, messages, review
from handoff.api import service
from handoff.inbox import signed_in
from stack.settings import ROOT

DEFAULT_DAYS = 7
DOMAIN_FILE, NLU_DIR = ROOT / "domain.yml", ROOT / "bot" / "data" / "nlu"
MAX_SELECTED = 500


def _range() -> Tuple[date, date]:
    start, end = request.args.get("from", ""), request.args.get("to", "")
    if not start and not end:
        today = datetime.now(timezone.utc).date()
        return today - timedelta(days=DEFAULT_DAYS - 1), today
    return parse_range(start, end)


def _seconds(day: date) -> float:
    return datetime.combine(day, time.min, timezone.utc).timestamp()


@lru_cache(maxsize=1)
def _intents() -> List[str]:
    return training_intents(DOMAIN_FILE, NLU_DIR)  # the files of this release: read once


def add_designer_pages(page: Blueprint) -> None:
    def supervisors_only() -> None:
        if not g.agent.sees_all:
            abort(403)  # customers' own words, from every team's conversations

    @page.get("/inbox/designer")
    @signed_in
    def designer() -> Any:
        supervisors_only()
        error = None
        try:
            first, last = _range()
        except InvalidRange as exc:
            error = str(exc)
            last = datetime.now(timezone.utc).date()
            first = last - timedelta(days=DEFAULT_DAYS - 1)
        found = review(service().redis, _seconds(first), _seconds(last + timedelta(days=1)))
        body = render_template("designer.html", agent=g.agent, groups=grouped(found), count=len(found),
                               intents=_intents(), first=first.isoformat(), last=last.isoformat(), error=error,
                               threshold=service().settings.analytics.low_confidence, limit=LIST_LIMIT)
        return body, 400 if error else 200

    @page.post("/inbox/designer/export")
    @signed_in
    def designer_export() -> Any:
        supervisors_only()
        intent = request.form.get("intent", "")
        if intent not in _intents():
            return Response(f"choose the intent to train, one of: {', '.join(_intents())}\n", 400,
                            mimetype="text/plain")
        wamids = request.form.getlist("wamid")[:MAX_SELECTED]
        texts = [m["text"] for m in messages(service().redis, wamids)]
        if not texts:
            return Response("select at least one message that is still kept\n", 400, mimetype="text/plain")
        filename = f"nlu-candidates-{intent}-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}.yml"
        return Response(training_file(intent, texts), mimetype="application/x-yaml",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
