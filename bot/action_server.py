"""The action server: rasa-sdk's application, listening on BIND_HOST only, running an action only for a
caller that presents the shared secret ACTIONS_TOKEN (Rasa sends it: endpoints.yml, action_endpoint).

Without it anyone who reaches the port could post a made-up tracker with a customer's number and read
or cancel that customer's orders. `/health` stays open for the process supervisor.
"""

import hmac
import logging
import sys
from typing import Mapping, Optional

from rasa_sdk import endpoint
from sanic import Sanic, response
from sanic.request import Request

from stack import components, log_format

OPEN_PATHS = ("/health",)
logger = logging.getLogger(__name__)


def create_app(token: str, package: str = "bot.actions") -> Sanic:
    if not token:
        raise RuntimeError("the action server needs ACTIONS_TOKEN (make run generates it into var/local.env)")
    expected = f"Bearer {token}".encode()
    app = endpoint.create_app(package, cors_origins=None)  # no browser ever calls it

    @app.on_request
    async def require_secret(request: Request) -> Optional[response.HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        given = (request.headers.get("Authorization") or "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "this server runs actions for Rasa only (Authorization: Bearer ...)"},
                                 status=401)
        return None

    return app


def main(env: Optional[Mapping[str, str]] = None) -> None:
    env = components.environment() if env is None else env
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log_format.configure(env, "actions")
    try:
        app = create_app(env.get("ACTIONS_TOKEN", ""))
    except RuntimeError as exc:
        sys.exit(f"actions: {exc}")
    # rasa-sdk's own runner reads SANIC_HOST and defaults to every interface; here the default is loopback.
    host = env.get("SANIC_HOST") or env.get("BIND_HOST") or "127.0.0.1"
    port = int(env.get("ACTIONS_PORT") or 5055)
    logger.info("action server on http://%s:%d (calls need ACTIONS_TOKEN)", host, port)
    app.run(host, port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
