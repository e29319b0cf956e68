"""Analytics for the business and the bot's designers: figures kept up to date from the event streams.

`aggregator.py` reads `wa:events`, `wa:pricing:log` and the CSAT ratings incrementally into daily
aggregates in Redis (`keys.py` lists them and how long they live); `figures.py` turns the aggregates of a
date range into the figures the handoff service's API, its dashboard and `make report` show. The metric
definitions are in the README's "Analytics" section.
"""
