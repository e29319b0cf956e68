"""The analytics dashboard of the inbox, for supervisors and admins: the figures of a date range (and
optionally one team) as charts and tables, each table downloadable as CSV.

The figures are those of GET /api/analytics (`current_figures`), the tables those `make report` prints
(analytics/tables.py). The filters are a GET form and the pages change nothing, so they carry no CSRF
token; the page's own forms (status, sign out) do, as everywhere in the inbox.
"""

import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Optional, Tuple

from flask import Blueprint, Response, abort, g, render_template, request

from analytics.figures import InvalidRange, parse_range
from analytics.tables import tables
from handoff.analytics_api import current_figures
from handoff.analytics_charts import charts
from handoff.inbox import signed_in
from handoff.table_csv import table_csv
from handoff.teams import TEAMS

DEFAULT_DAYS = 7  # without a range: the last week, today included (UTC days, as the figures count)


def _today() -> date:
    return datetime.fromtimestamp(time.time(), timezone.utc).date()


def _selection() -> Tuple[date, date, str]:
    """The range and team asked for; InvalidRange when they make no sense."""
    start, end = request.args.get("from", ""), request.args.get("to", "")
    if not start and not end:
        today = _today()
        start, end = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), today.isoformat()
    first, last = parse_range(start, end)
    team = request.args.get("team", "")
    if team and team not in TEAMS:
        raise InvalidRange(f"unknown team {team!r}")
    return first, last, team


def _presets(today: date) -> Dict[str, Dict[str, str]]:
    return {label: {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}
            for label, days in (("Today", 1), ("7 days", 7), ("30 days", 30), ("90 days", 90))}


def create_dashboard() -> Blueprint:
    page = Blueprint("dashboard", __name__, template_folder="templates")

    def supervisors_only() -> None:
        if not g.agent.sees_all:
            abort(403)  # an agent's figures would include other teams' chats and colleagues' times

    @page.get("/inbox/analytics")
    @signed_in
    def dashboard() -> Any:
        supervisors_only()
        error: Optional[str] = None
        try:
            first, last, team = _selection()
        except InvalidRange as exc:
            error = str(exc)
            today = _today()
            first, last, team = today - timedelta(days=DEFAULT_DAYS - 1), today, ""
        figures = current_figures(first, last, team)
        query = {"from": first.isoformat(), "to": last.isoformat(), **({"team": team} if team else {})}
        body = render_template("analytics.html", agent=g.agent, figures=figures, charts=charts(figures),
                               tables=tables(figures), query=query, teams=TEAMS, team=team, error=error,
                               presets=_presets(_today()))
        return body, 400 if error else 200

    @page.get("/inbox/analytics/<name>.csv")
    @signed_in
    def table_download(name: str) -> Any:
        supervisors_only()
        try:
            first, last, team = _selection()
        except InvalidRange as exc:
            return Response(f"{exc}\n", 400, mimetype="text/plain")
        found = [t for t in tables(current_figures(first, last, team)) if t.name == name]
        if not found:
            abort(404)
        filename = f"analytics-{name}-{first.isoformat()}-{last.isoformat()}{'-' + team if team else ''}.csv"
        return Response(table_csv(found[0]), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    return page
