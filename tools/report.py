"""The analytics figures of a date range as tables in a terminal (the same as GET /api/analytics).

    python -m tools.report --from 2026-11-01 --to 2026-11-30 [--team orders] [--json]

Brings the aggregates up to date from the event streams first, as the handoff service does.
"""

import argparse
import json
import sys
from typing import Any

from analytics.aggregator import Aggregator
from analytics.config import AnalyticsConfig
from analytics.figures import InvalidRange, compute, parse_range, read_range
from analytics.ratings import from_url
from analytics.tables import render, tables
from stack import components, settings


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (UTC), included")
    parser.add_argument("--team", default="", help="the handoff and agent figures of one team")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead")
    args = parser.parse_args(argv)
    try:
        first, last = parse_range(args.start, args.end)
    except InvalidRange as exc:
        parser.error(str(exc))
    env = settings.resolve()
    config = AnalyticsConfig.from_env(env)
    store = components.redis_client(env, decode_responses=True)
    try:
        Aggregator(store, config, ratings=from_url(components.database_url(env))).run()
        data = read_range(store, first, last, args.team, config.phone_number_id)
        figures = compute(data, config, components.office_hours(env).open_seconds)
    finally:
        store.close()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print("\n\n".join(render(table) for table in tables(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
