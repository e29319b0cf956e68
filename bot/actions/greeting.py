from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


def first_name(profile_name: Optional[str]) -> Optional[str]:
    """The first word of a WhatsApp profile name, if it looks like a name."""
    if not profile_name:
        return None
    word = profile_name.strip().split()[0] if profile_name.strip() else ""
    return word if word[:1].isalpha() else None


class ActionGreetCustomer(Action):
    """Greets the customer by the name on their WhatsApp profile, when the channel gave one."""

    def name(self) -> Text:
        return "action_greet_customer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        metadata = tracker.latest_message.get("metadata") or {}
        name = first_name(metadata.get("wa_profile_name"))
        greeting = f"Hi {name}!" if name else "Hi!"
        dispatcher.utter_message(
            text=f"{greeting} I can help with orders, deliveries and refunds. What can I do for you?"
        )
        return []
