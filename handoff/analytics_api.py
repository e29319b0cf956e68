"""GET /api/analytics: the figures of a date range for supervisors and admins (analytics/ computes them).

The request first brings the aggregates up to date (the background does too), so a supervisor sees the
latest events; office-hours response times use the service's own office hours.
"""

from datetime import date
from typing import Any, Dict

from flask import Blueprint, current_app, g, jsonify, request

from analytics.aggregator import Aggregator
from analytics.figures import InvalidRange, compute, parse_range, read_range
from handoff.api import authenticated, error, service
from handoff.teams import TEAMS

REQUEST_STEPS = 20  # a request catches up at most this many batches; the background reads the rest


def aggregator() -> Aggregator:
    return current_app.extensions["analytics"]


def current_figures(first: date, last: date, team: str = "") -> Dict[str, Any]:
    """The figures of a range after catching up on the newest events (the API and the dashboard)."""
    aggregator().run(max_steps=REQUEST_STEPS)
    svc = service()
    data = read_range(svc.redis, first, last, team, svc.settings.analytics.phone_number_id)
    return compute(data, svc.settings.analytics, svc.settings.office_hours.open_seconds)


def create_analytics_api() -> Blueprint:
    api = Blueprint("analytics_api", __name__)

    @api.get("/api/analytics")
    @authenticated
    def figures() -> Any:
        if not g.agent.sees_all:
            return error("analytics are for supervisors and admins", 403)
        try:
            first, last = parse_range(request.args.get("from", ""), request.args.get("to", ""))
        except InvalidRange as exc:
            return error(str(exc), 400)
        team = request.args.get("team", "")
        if team and team not in TEAMS:
            return error(f"unknown team {team!r}; teams: {', '.join(TEAMS)}", 400)
        return jsonify(current_figures(first, last, team))

    return api
