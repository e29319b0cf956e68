"""Rasa's response generator, plus each response's approved-template fallback for WhatsApp.

Configured in endpoints.yml (`nlg: type: bot.channels.window_aware_nlg.WindowAwareNLG`). It renders
responses exactly as Rasa's default generator does and, on the WhatsApp channel, attaches the template
that template_fallbacks.yml maps the response to, filled from the live tracker's slots. The output
channel hands both to the messaging policy, which picks one by the customer's windows and consent.
"""

import logging
from typing import Any, Dict, Optional, Text

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.channels.whatsapp_output import FALLBACK_KEY
from stack import components
from whatsapp_cloud.policy import fallbacks

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"


class WindowAwareNLG(TemplatedNaturalLanguageGenerator):
    def __init__(
        self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None, **_: Any
    ) -> None:
        super().__init__(domain.responses if domain else {})
        config = components.policy_config()
        # Loaded (and checked against the template registry) at start-up: a bad file stops Rasa here.
        self.fallbacks = fallbacks.load(config.templates_file, config.fallbacks_file)

    async def generate(
        self, utter_action: Text, tracker: DialogueStateTracker, output_channel: Text, **kwargs: Any
    ) -> Optional[Dict[Text, Any]]:
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message is not None and output_channel == CHANNEL:
            candidate = self.fallbacks.candidate(utter_action, tracker.current_slot_values())
            if candidate is not None:
                message[FALLBACK_KEY] = candidate
        return message
