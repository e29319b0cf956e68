"""`python -m ingest`: the webhook intake on BIND_HOST:INGEST_PORT."""

import logging

from aiohttp import web

from ingest.app import create_app
from stack import components, log_format


def main() -> None:
    env = components.environment()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log_format.configure(env, "ingest")
    host = env.get("BIND_HOST") or "127.0.0.1"
    port = int(env.get("INGEST_PORT") or 5090)
    # No access log: Meta may post hundreds of webhooks a second; outcomes are counted in /metrics.
    web.run_app(create_app(env), host=host, port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
