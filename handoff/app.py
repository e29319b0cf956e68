"""Flask application factory for the handoff service (served by gunicorn in `make run`)."""

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import prometheus_client
import redis
from flask import Flask, Response, jsonify, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from analytics.aggregator import Aggregator
from analytics.ratings import from_url
from campaigns.entry_points import EntryLinks
from campaigns.order_events import OrderEvents
from campaigns.service import Campaigns
from handoff import queue_metrics
from handoff.agents import TOKEN_SECONDS
from handoff.analytics_api import create_analytics_api
from handoff.api import create_api
from handoff.campaigns_api import add_campaign_routes
from handoff.dashboard import create_dashboard
from handoff.designer_pages import add_designer_pages
from handoff.entry_link_pages import add_entry_link_pages
from handoff.entry_links_api import create_entry_links_api
from handoff.inbox import create_inbox
from handoff.live_feed import FeedHub
from handoff.messaging import Messenger
from handoff.opt_in_page import create_opt_in_page
from handoff.order_events_api import add_order_event_routes
from handoff.privacy_api import create_privacy_api
from handoff.privacy_pages import add_privacy_pages
from handoff.rasa_api import RasaApi
from handoff.request_limits import login_limit as login_limits
from handoff.request_limits import opt_in_limit
from handoff.service import HandoffService
from handoff.settings import HandoffSettings
from handoff.template_pages import add_template_pages
from handoff.templates_api import create_templates_api
from handoff.webhook_subscriptions_api import create_webhook_subscriptions_api
from privacy import requests as privacy_requests
from privacy.queued_erasures import QueuedErasures
from privacy.sweep import Sweeper
from shop.db import engine_for
from shop.state_changes import ShopStateChanges
from stack import components
from whatsapp_cloud.outbound.media_files import LARGEST as LARGEST_MEDIA

OPENAPI = Path(__file__).with_name("openapi.yaml")
TICK_SECONDS = 2.0
MEDIA_UPLOADS = ("api.send_media", "inbox.send_media")

logger = logging.getLogger(__name__)


def create_app(environ: Optional[Mapping[str, str]] = None) -> Flask:
    env = components.environment() if environ is None else environ
    settings = HandoffSettings.from_env(env)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        # A cookie's signature is accepted this long at most; logout and password changes end it sooner.
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=TOKEN_SECONDS),
        MAX_CONTENT_LENGTH=settings.max_content_length,  # larger bodies: 413 before anything is parsed
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the login session
    )
    if settings.trusted_proxies:
        # Client address and scheme from X-Forwarded-* only when that many proxies of ours set them.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    store = components.redis_client(env, url=settings.redis_url, socket_timeout=5, decode_responses=True)
    app.extensions["redis"] = store
    service = HandoffService(settings, store, Messenger(env, store), RasaApi(settings.rasa_url, settings.rasa_token))
    app.extensions["handoff"] = service
    app.extensions["handoff_feed"] = FeedHub(store)
    app.extensions["analytics"] = Aggregator(store, settings.analytics, ratings=from_url(settings.database_url))
    app.extensions["campaigns"] = Campaigns(store, env, registry=service.messenger.registry)
    app.extensions["entry_links"] = EntryLinks(store, components.display_phone_number(env))
    app.extensions["template_submissions"] = components.template_submissions(store, env)
    app.extensions["order_events_factory"] = lambda: OrderEvents(
        store, ShopStateChanges(components.shop(env).engine), service.rasa.trigger)

    @app.before_request
    def media_uploads_may_be_larger() -> None:
        # Before the CSRF check reads the form: an agent's image or document may exceed the usual body limit,
        # up to WhatsApp's largest (100 MB). Only with credentials, so strangers cannot send that much.
        if request.endpoint in MEDIA_UPLOADS and (session.get("agent") or request.headers.get("Authorization")):
            request.max_content_length = LARGEST_MEDIA + 1024 * 1024  # the file and the form around it

    csrf = CSRFProtect(app)
    storage_uri, storage_options = components.rate_limit_storage(env, settings.redis_url)
    limiter = Limiter(key_func=get_remote_address, app=app, storage_uri=storage_uri, storage_options=storage_options,
                      key_prefix="handoff:limits", headers_enabled=True)
    login_limit = login_limits(limiter, settings.login_limit)
    api = create_api(login_limit)
    add_campaign_routes(api)
    add_order_event_routes(api)
    csrf.exempt(api)  # the JSON API authenticates with bearer tokens, never with cookies
    app.register_blueprint(api)
    analytics_api = create_analytics_api()
    csrf.exempt(analytics_api)
    app.register_blueprint(analytics_api)
    entry_links_api = create_entry_links_api()
    csrf.exempt(entry_links_api)
    app.register_blueprint(entry_links_api)
    webhooks_api = create_webhook_subscriptions_api()
    csrf.exempt(webhooks_api)
    app.register_blueprint(webhooks_api)
    templates_api = create_templates_api()
    csrf.exempt(templates_api)
    app.register_blueprint(templates_api)
    privacy_api = create_privacy_api()
    csrf.exempt(privacy_api)
    app.register_blueprint(privacy_api)
    inbox = create_inbox(login_limit)
    add_privacy_pages(inbox)
    add_entry_link_pages(inbox)
    add_designer_pages(inbox)
    add_template_pages(inbox)
    app.register_blueprint(inbox)
    app.register_blueprint(create_dashboard())
    app.register_blueprint(create_opt_in_page(settings.opt_in, opt_in_limit(limiter, settings.opt_in.limit)))

    @app.get("/health")
    def health() -> Any:
        try:
            store.ping()
        except redis.RedisError as exc:
            return jsonify(status="degraded", service="handoff", redis=f"unreachable: {exc}"), 503
        return jsonify(status="ok", service="handoff", redis="ok")

    @app.get("/metrics")
    def metrics() -> Any:
        try:
            return Response(queue_metrics.latest(store), mimetype=prometheus_client.CONTENT_TYPE_LATEST)
        except redis.RedisError as exc:
            return jsonify(status="degraded", service="handoff", redis=f"unreachable: {exc}"), 503

    @app.get("/api/openapi.yaml")
    def openapi() -> Any:
        return Response(OPENAPI.read_text(), mimetype="application/yaml")

    @app.get("/")
    def home() -> Any:
        return redirect(url_for("inbox.queue"))

    if settings.background:
        stop = app.extensions["background_stop"] = threading.Event()  # set: the loops end after their round
        erasures = QueuedErasures(privacy_requests.Stores(
            redis=store, shop=engine_for(settings.database_url, seed=False), media_dir=settings.media_dir,
            policy=service.messenger.policy_config))
        app.extensions["background"] = start_background(service, app.extensions["analytics"],
                                                        Sweeper(store, settings.media_dir, settings.age_limits),
                                                        erasures, stop)
    return app


def start_background(service: HandoffService, aggregator: Aggregator, sweeper: Sweeper, erasures: QueuedErasures,
                     stop: threading.Event) -> list[threading.Thread]:
    """Assignment, SLA timers, hand-back retries, the analytics aggregates, the retention sweep and the erasures
    customers asked for in the chat (when PRIVACY_ERASE_ON_REQUEST allows them at once); every step
    is safe in several workers at once. Hand backs run in a thread of their own, so a hung Rasa never holds up
    assignment or SLA timers; so do the aggregates and the sweep, so a long catch-up or sweep never does either.
    The sweep runs here because this service is always up in every deployment and already runs the periodic
    work; a lease in Redis lets one worker sweep per interval."""

    def loop(step: Callable[[], None], name: str) -> None:
        while not stop.wait(TICK_SECONDS):
            try:
                step()
            except Exception:  # Redis down or a bug: log and keep the worker's loop alive
                logger.exception("background %s failed", name)

    threads = [threading.Thread(target=loop, args=(step, name), name=f"handoff-{name}", daemon=True)
               for step, name in ((service.tick_routing, "routing"), (service.tick_handbacks, "handbacks"),
                                  (aggregator.run, "analytics"), (sweeper.run_if_due, "retention"),
                                  (erasures.run, "privacy requests"))]
    for thread in threads:
        thread.start()
    return threads
