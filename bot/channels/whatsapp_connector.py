"""Rasa input and output channel for WhatsApp's Cloud API.

Inbound: the webhook at /webhooks/whatsapp/webhook answers Meta's GET handshake, checks
every POST's signature over the raw body, appends the body to a durable Redis Stream and
answers 200 at once (Meta retries slow answers). A background consumer turns each entry into
dialogue turns, exactly once per message and in order per customer (whatsapp_cloud/streams/consumer.py).
Outbound: WhatsAppOutput (whatsapp_output.py), through the outbound governor.
"""

import asyncio
import logging
import time
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Text

import aiohttp
import prometheus_client
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.lock_store import LockError
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from analytics.config import AnalyticsConfig
from analytics.nlu_records import NluRecords
from bot.channels import action_failures
from bot.channels.handoff_routing import HandoffRouting
from bot.channels.media_files import add_media_route
from bot.channels.nlu_recording import NluRecording
from bot.channels.saved_turns import turn_saved
from bot.channels.whatsapp_output import NumberedChoices, WhatsAppOutput, split_text
from campaigns.entry_points import Attribution
from campaigns.replies import CampaignReplies, metadata_for
from campaigns.settings import CampaignSettings
from stack import components, log_format, task_dump
from stack.setting_values import flag
from whatsapp_cloud import metrics as metrics_
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.graph.client import GraphApiClient
from whatsapp_cloud.graph.config import DEFAULT_API_BASE_URL, DEFAULT_API_VERSION, CloudApiConfig
from whatsapp_cloud.graph.errors import GraphApiError
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus
from whatsapp_cloud.outbound.offered_payloads import OfferedPayloads
from whatsapp_cloud.outbound.sender import OutboundSender, SenderSettings
from whatsapp_cloud.policy import fallbacks
from whatsapp_cloud.policy.hooks import PolicyHooks
from whatsapp_cloud.policy.template_submissions import TemplateReviews
from whatsapp_cloud.streams import stream_gauges
from whatsapp_cloud.streams.consumer import WebhookConsumer
from whatsapp_cloud.streams.consumer_lease import ConsumerLease, ConsumerNameTaken, default_consumer_name, lease_alive
from whatsapp_cloud.streams.dead_letters import DEFAULT_MAX_ATTEMPTS
from whatsapp_cloud.streams.webhook_stream import MessageClaims, WebhookStream
from whatsapp_cloud.webhooks import inbound, signature
from whatsapp_cloud.webhooks.ingest import DEFAULT_MAX_BODY_BYTES, WebhookIngest

__all__ = ["WhatsAppInput", "WhatsAppOutput", "split_text"]

logger = logging.getLogger(__name__)
# What a customer hears when their turn produced no reply (a custom action failed: the action server is down).
ACTIONS_CHECK_SECONDS = 5.0  # how long an answer of the action server's health check is trusted
DEGRADED_ANSWER = ("Sorry, I can't look that up right now because of a technical problem on our side. "
                   "Please write again in a few minutes.")

class WhatsAppInput(InputChannel):
    """Receives WhatsApp webhooks and feeds them to Rasa."""

    def __init__(
        self,
        config: CloudApiConfig,
        redis_url: str,
        consumer_name: str = "",
        mark_read: bool = True,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        reclaim_idle_ms: Optional[int] = None,
        sender_settings: Optional[SenderSettings] = None,
        consume: bool = True,
        max_concurrent_turns: int = 2,
        turn_yield_seconds: float = 10.0,
        media_dir: Optional[Path] = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        env: Optional[Mapping[str, str]] = None,
    ) -> None:
        if not config.app_secrets:
            raise ValueError("the WhatsApp channel needs app_secret to check webhook signatures")
        if not config.verify_token:
            raise ValueError("the WhatsApp channel needs verify_token for Meta's handshake")
        if not redis_url:
            raise ValueError("the WhatsApp channel needs redis_url for its durable webhook stream")
        self.config = config
        self.mark_read = mark_read
        # False: this process only acknowledges webhooks into the stream; others answer them.
        self.consume = consume
        self.max_concurrent_turns = max_concurrent_turns
        self.turn_yield_seconds = turn_yield_seconds
        self.max_body_bytes = max_body_bytes
        self.media_dir = media_dir
        # The deployment's settings (stack/components.py): policy, retention, pricing, the handoff service.
        self.env = components.environment() if env is None else env
        self._actions_checked_at, self._actions_up = float("-inf"), False  # _actions_answer()
        self.policy_config = components.policy_config(self.env)
        retention = self.policy_config.retention
        self.store = components.async_redis_client(self.env, url=redis_url)
        consumer_name = consumer_name or default_consumer_name(self.env.get("RASA_PORT") or "5005")
        self.stream = WebhookStream(self.store, consumer_name, max_length=retention.webhook_stream_max)
        if reclaim_idle_ms is not None:
            self.stream.reclaim_idle_ms = reclaim_idle_ms
        self.consumer_name = consumer_name
        self.events = EventLog(self.store, max_length=retention.event_stream_max)
        self.ingest = WebhookIngest(self.stream, config.app_secrets, config.verify_token, max_body_bytes,
                                    on_accepted=self._webhook_arrived)
        self.statuses = DeliveryStatus(self.store)
        # Customers who came through a click-to-chat link: recorded for whoever answers them.
        self.entry_points = Attribution(self.store, CampaignSettings.from_env(self.env).entry_point_retention_seconds,
                                        retention.event_stream_max)
        # What the NLU read of each message, once its turn ran (the agent's tracker store is set at start).
        self.nlu = NluRecording(NluRecords(self.store, AnalyticsConfig.from_env(self.env), retention.event_stream_max))
        # Replies quoting a campaign's or notification's message: counted, and named in the turn's metadata.
        self.campaign_replies = CampaignReplies(self.store, retention.event_stream_max)
        self.max_attempts = max_attempts  # failed tries of a webhook entry before its dead letter
        self.consumer: Optional[WebhookConsumer] = None
        self._consumer_task: Optional[asyncio.Task] = None  # the supervisor
        self._loop_task: Optional[asyncio.Task] = None  # the consumer's loop, restarted by the supervisor
        # running | starting | restarting | refused: ... | stopped; anything but running is unhealthy.
        self.consumer_state = "stopped"
        self.restart_delay = 1.0
        self.lease_seconds: Optional[float] = None
        self._client: Optional[GraphApiClient] = None
        self._sender: Optional[OutboundSender] = None
        self._policy_hooks: Optional[PolicyHooks] = None
        self._default_fallback: Optional[Dict[str, Any]] = None
        self._fallbacks_loaded = False
        self._capacity_task: Optional[asyncio.Task] = None
        self.capacity_flush_seconds = 60.0
        self.sender_settings = sender_settings or SenderSettings()

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "InputChannel":
        if not credentials:
            cls.raise_missing_credentials_exception()
        secrets_ = (credentials.get("app_secret"), credentials.get("app_secret_previous"))
        config = CloudApiConfig(
            access_token=str(credentials.get("access_token") or ""),
            phone_number_id=str(credentials.get("phone_number_id") or ""),
            api_base_url=credentials.get("api_base_url") or DEFAULT_API_BASE_URL,
            api_version=credentials.get("api_version") or DEFAULT_API_VERSION,
            verify_token=str(credentials.get("verify_token") or ""),
            app_secrets=tuple(str(s) for s in secrets_ if s),
        )
        log_format.configure(components.environment(), "rasa")
        return cls(
            config,
            redis_url=str(credentials.get("redis_url") or components.environment().get("REDIS_URL", "")),
            consumer_name=str(credentials.get("consumer_name") or ""),
            mark_read=flag(credentials.get("mark_read"), True, "mark_read"),
            consume=flag(credentials.get("consume"), True, "consume"),
            max_body_bytes=int(credentials.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
            reclaim_idle_ms=credentials.get("reclaim_idle_ms"),
            max_concurrent_turns=int(credentials.get("max_concurrent_turns") or 2),
            turn_yield_seconds=float(credentials.get("turn_yield_seconds") or 10.0),
            media_dir=Path(credentials["media_dir"]) if credentials.get("media_dir") else None,
            max_attempts=int(credentials.get("max_attempts") or DEFAULT_MAX_ATTEMPTS),
            sender_settings=SenderSettings(**{
                name: float(value) if name != "max_attempts" else int(value)
                for name, value in (credentials.get("outbound") or {}).items()
            }),
        )

    @property
    def client(self) -> GraphApiClient:
        # Created on first use, inside Sanic's event loop, and reused for every send.
        if self._client is None:
            self._client = GraphApiClient(self.config)
        return self._client

    @property
    def sender(self) -> OutboundSender:
        if self._sender is None:
            self._sender = components.outbound_sender(self.client, self.store, self.env, self.sender_settings,
                                                      self.statuses, self.events, config=self.policy_config)
        return self._sender

    @property
    def policy_hooks(self) -> PolicyHooks:
        if self._policy_hooks is None:
            self._policy_hooks = PolicyHooks(self.sender, components.business_name(self.env),
                                             reviews=TemplateReviews(self.store, self.policy_config.templates_file))
        return self._policy_hooks

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        """The metadata of the webhook's first customer message (wamid, timestamp, type, profile, referral,
        media), as turns started from the stream carry it in `tracker.latest_message["metadata"]`."""
        try:
            messages = inbound.messages(inbound.load(request.body or b""))
        except inbound.MalformedWebhook:
            return None
        return messages[0].metadata() if messages else None

    @property
    def default_fallback(self) -> Optional[Dict[str, Any]]:
        """The template that re-opens the conversation for a message that has none of its own."""
        if not self._fallbacks_loaded:
            config = self.sender.policy.config
            self._default_fallback = fallbacks.load(config.templates_file, config.fallbacks_file).default_candidate()
            self._fallbacks_loaded = True
        return self._default_fallback

    def get_output_channel(self) -> Optional[OutputChannel]:
        # Used by Rasa's HTTP API (trigger_intent, tracker events with side effects).
        return WhatsAppOutput(self.sender, default_fallback=self.default_fallback)

    def start_consumer(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> WebhookConsumer:
        """Start processing the webhook stream in the background (once per process)."""
        if self.consumer is None:
            # Other consumer processes are alive while they hold their name's lease: a dead one's entries and
            # claims are taken over at once.
            alive = partial(lease_alive, self.store)
            self.consumer = WebhookConsumer(
                self.stream,
                MessageClaims(self.store, self.consumer_name, alive=alive),
                self.statuses,
                self.events,
                handle_message=lambda message: self._handle(on_new_message, message),
                on_status=self.policy_hooks.on_status,
                on_event=self.policy_hooks.on_event,
                on_inbound=self._on_inbound,
                max_concurrent_turns=self.max_concurrent_turns,
                yield_seconds=self.turn_yield_seconds,
                max_attempts=self.max_attempts,
                divert=self._handoff_divert(),
                transient_errors=(LockError,),
                alive=alive,
                ran_before=lambda message: turn_saved(self.nlu.tracker_store, message.sender, message.wamid),
            )
            self.consumer_state = "starting"
            task_dump.install(asyncio.get_running_loop())  # SIGUSR1: where each turn waits
            self._consumer_task = asyncio.create_task(self._supervise(self.consumer))
            self._capacity_task = asyncio.create_task(
                self.policy_hooks.flush_for_capacity_every(self.capacity_flush_seconds))
        return self.consumer

    async def _on_inbound(self, message: inbound.InboundMessage) -> None:
        """Every customer message before its turn, bot's or agent's: the messaging policy, then the link they
        came through (if the message carries a link's reference), the campaign message it replies to (if it quotes
        one)."""
        await self.policy_hooks.on_inbound(message)
        await self.entry_points.attribute(message)
        await self.campaign_replies.record(message)

    def _handoff_divert(self) -> Optional[Callable[[inbound.InboundMessage], Awaitable[bool]]]:
        """Messages of customers a person is talking to go to the handoff service, when there is one."""
        url, token = self.env.get("HANDOFF_URL"), self.env.get("HANDOFF_API_TOKEN")
        if not url or not token:
            return None
        return HandoffRouting(self.store, url, token).divert

    async def _supervise(self, consumer: WebhookConsumer) -> None:
        """Run the consumer under this process's name; if its loop ever ends, start it again."""
        lease = ConsumerLease(self.store, self.consumer_name, **(
            {"seconds": self.lease_seconds} if self.lease_seconds else {}))
        while True:
            try:
                await lease.acquire()
                break
            except ConsumerNameTaken as exc:
                self.consumer_state = f"refused: {exc}"
                logger.error("webhook consumer not started: %s", exc)
                return
            except RedisError as exc:
                logger.warning("cannot take the consumer name yet (%s); retrying", exc)
                await asyncio.sleep(1)
        keeper = asyncio.create_task(self._keep_lease(lease, consumer))
        try:
            while not consumer.stopping:
                self.consumer_state = "running"
                self._loop_task = loop = asyncio.create_task(consumer.run())
                try:
                    await asyncio.wait([loop])  # returns however the loop ends: error, cancel or return
                except asyncio.CancelledError:
                    loop.cancel()
                    raise
                if consumer.stopping:
                    break
                error = None if loop.cancelled() else loop.exception()
                self.consumer_state = "restarting"
                metrics_.CONSUMER_RESTARTS.inc()
                logger.error("webhook consumer loop ended (%r); restarting in %.0f s", error or "cancelled",
                             self.restart_delay, exc_info=error)
                await asyncio.sleep(self.restart_delay)
        finally:
            keeper.cancel()
            if consumer.stopping and not self.consumer_state.startswith("refused"):
                self.consumer_state = "stopped"
            try:
                await lease.release()
            except RedisError:  # it lapses by itself
                pass

    async def _keep_lease(self, lease: ConsumerLease, consumer: WebhookConsumer) -> None:
        while True:
            await asyncio.sleep(lease.seconds / 3)
            try:
                if not await lease.renew():
                    # Another process took the name while ours lapsed: two consumers must never share it.
                    self.consumer_state = f"refused: consumer name {self.consumer_name!r} taken over"
                    logger.error("lost the consumer name %s to another process; stopping", self.consumer_name)
                    consumer.stop()
                    return
            except RedisError as exc:
                logger.warning("could not renew the consumer name (%s)", exc)

    @property
    def consumer_healthy(self) -> bool:
        task = self._consumer_task
        return task is not None and not task.done() and self.consumer_state in ("running", "starting")

    async def stop_consumer(self) -> None:
        """Stop reading; let the turns already started finish (their entries are then acknowledged)."""
        if self._capacity_task is not None:
            self._capacity_task.cancel()
            self._capacity_task = None
        if self.consumer is None or self._consumer_task is None:
            return
        self.consumer.stop()
        try:
            await asyncio.wait_for(asyncio.shield(self._consumer_task), timeout=5)
            await asyncio.wait_for(self.consumer.drain(), timeout=30)
        except asyncio.TimeoutError:
            # Unacknowledged entries stay pending in Redis and are handled after the restart.
            self._consumer_task.cancel()
        self._consumer_task = None
        self.consumer = None

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        hook = Blueprint("whatsapp_webhook", __name__)

        @hook.listener("after_server_start")
        async def start(app: Any, loop: Any) -> None:
            agent = getattr(app.ctx, "agent", None)
            if agent is not None and self.nlu.tracker_store is None:
                self.nlu.tracker_store = agent.tracker_store
            if self.consume:
                self.start_consumer(on_new_message)

        @hook.listener("before_server_stop")
        async def stop(app: Any, loop: Any) -> None:
            await self.stop_consumer()

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            try:
                await self.store.ping()
            except RedisError as exc:
                return response.json({"status": "degraded", "redis": f"unreachable: {exc}"}, status=503)
            running = self.consumer_healthy
            if self.consume and not running:  # webhooks pile up unanswered: say so
                return response.json({"status": "unhealthy", "channel": self.name(), "consumer": False,
                                      "consumer_state": self.consumer_state}, status=503)
            return response.json({"status": "ok", "channel": self.name(), "consumer": running})

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            challenge = self.ingest.handshake(request.args.get("hub.mode"), request.args.get("hub.verify_token"),
                                              request.args.get("hub.challenge"))
            return response.text("Forbidden", status=403) if challenge is None else response.text(challenge)

        if self.media_dir is not None:
            add_media_route(hook, self.media_dir)

        @hook.route("/metrics", methods=["GET"])
        async def metrics(request: Request) -> HTTPResponse:
            await stream_gauges.refresh(self.store)
            return response.raw(prometheus_client.generate_latest(), content_type=prometheus_client.CONTENT_TYPE_LATEST)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            answer = await self.ingest.receive(request.body or b"", request.headers.get(signature.HEADER))
            return response.json(answer.body, status=answer.status)

        return hook

    def _webhook_arrived(self) -> None:
        if self.consumer is not None:
            self.consumer.webhook_arrived()

    async def _handle(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: inbound.InboundMessage
    ) -> None:
        if self.mark_read:
            try:
                await self.client.mark_read(message.wamid, typing_indicator=message.starts_turn)
            except GraphApiError as exc:
                logger.warning("could not mark %s as read: %s", message.wamid, exc)
        if not message.starts_turn:
            return
        text, policy_metadata = self.policy_hooks.turn_text(message)
        if message.type == "text" and not policy_metadata:
            text = await NumberedChoices(self.store).resolve(message.sender, text)
        if not policy_metadata and text is not None and text == inbound.tapped_payload(message):
            text = await self._offered_or_title(message, text)
            if text is None:
                return
        entry_point = await self.entry_points.recorded_for(message)
        replying_to = metadata_for(await self.campaign_replies.origin_of(message))
        output = WhatsAppOutput(self.sender, turn_key=message.wamid, default_fallback=self.default_fallback)
        started = time.monotonic()
        with action_failures.watch() as failed_actions:
            await on_new_message(
                UserMessage(
                    text=text,
                    output_channel=output,
                    sender_id=message.sender,
                    input_channel=self.name(),
                    message_id=message.wamid,
                    metadata={**message.metadata(), **policy_metadata,
                              **({"wa_entry_point": entry_point} if entry_point else {}), **replying_to},
                )
            )
        await self.nlu.after_turn(message.sender, message.wamid)
        took = time.monotonic() - started
        metrics_.TURN_SECONDS.observe(took)
        about = {"wamid": message.wamid, "customer": components.customer_ref(message.sender)}
        logger.info("turn of %s taken in %.3f s", about["customer"], took, extra=about)
        if not output.answered and (failed_actions or not await self._actions_answer()):
            # Rasa logs a failed custom action (the action server down, or too slow for once) and goes on
            # with no reply: the customer would hear nothing. They get the degraded answer instead, under the
            # turn's own key. (A turn silent by design, such as a second STOP, had no action fail and has a
            # healthy action server behind it.)
            logger.warning("turn %s of %s sent no reply; sending the degraded answer", message.wamid,
                           about["customer"], extra=about)
            metrics_.UNANSWERED_TURNS.inc()
            await output.send_text_message(message.sender, DEGRADED_ANSWER)

    async def _actions_answer(self) -> bool:
        """Whether the action server answers its health check (ACTIONS_URL), asked after a silent turn; the
        answer is kept for a few seconds, so a burst of silent turns costs one request."""
        now = time.monotonic()
        if now - self._actions_checked_at < ACTIONS_CHECK_SECONDS:
            return self._actions_up
        url, up = self.env.get("ACTIONS_URL"), False
        if url:
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
                    async with session.get(f"{url}/health") as answer:
                        up = answer.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                up = False
        self._actions_checked_at, self._actions_up = time.monotonic(), up
        return up

    async def _offered_or_title(self, message: inbound.InboundMessage, payload: str) -> Optional[str]:
        """A tapped payload as Rasa may read it: a command only if the business offered it to this customer,
        else the button's title as typed text (a reply can be made up by anyone who holds the app secret,
        and a payload someone else chose must not steer the bot)."""
        if not payload.startswith(inbound.INTENT_PREFIX) or await OfferedPayloads(self.store).was_offered(
                message.sender, payload):
            return payload
        logger.warning("reply %s carries a payload never offered to %s; read as text", message.wamid,
                       components.customer_ref(message.sender))
        await self.events.record(kinds.PAYLOAD_NOT_OFFERED, wamid=message.wamid, sender=message.sender,
                                 payload=payload[:200])
        return inbound.reply_title(message)
