"""Custom actions, served by the Rasa SDK action server (`rasa run actions --actions bot.actions`)."""

from bot.actions.cancel import ActionCancelOrder, ActionConfirmCancel, ActionKeepOrder
from bot.actions.choice import ActionChooseOrder
from bot.actions.documents import ActionGetInvoice
from bot.actions.forms import (
    ActionAskOrderChange,
    ActionAskOrderId,
    ActionAskShippingAddress,
    ActionSubmitAddressChange,
    ActionSubmitOrderChange,
    ValidateChangeOrderForm,
    ValidateChangeShippingAddressForm,
)
from bot.actions.greeting import ActionGreetCustomer
from bot.actions.handoff import ActionHumanHandoff
from bot.actions.orders import ActionDeliveryPeriod, ActionOrderStatus, ActionOrderUpdate
from bot.actions.other_language import ActionOtherLanguage
from bot.actions.privacy_requests import (
    ActionAskDataCopy,
    ActionAskDataErasure,
    ActionConfirmPrivacyRequest,
    ActionKeepData,
)
from bot.actions.refunds import ActionGetRefund, ActionRefundUpdate, ActionTrackRefund
from bot.actions.support import (
    ActionClarify,
    ActionComplaint,
    ActionDefaultFallback,
    ActionOutOfScope,
    ActionPaymentIssue,
    ActionStoreCsat,
)

__all__ = [
    "ActionAskDataCopy",
    "ActionAskDataErasure",
    "ActionConfirmPrivacyRequest",
    "ActionKeepData",
    "ActionAskOrderChange",
    "ActionAskOrderId",
    "ActionAskShippingAddress",
    "ActionCancelOrder",
    "ActionChooseOrder",
    "ActionClarify",
    "ActionComplaint",
    "ActionConfirmCancel",
    "ActionDefaultFallback",
    "ActionDeliveryPeriod",
    "ActionGetInvoice",
    "ActionGetRefund",
    "ActionGreetCustomer",
    "ActionHumanHandoff",
    "ActionKeepOrder",
    "ActionOrderStatus",
    "ActionOrderUpdate",
    "ActionOtherLanguage",
    "ActionOutOfScope",
    "ActionPaymentIssue",
    "ActionRefundUpdate",
    "ActionStoreCsat",
    "ActionSubmitAddressChange",
    "ActionSubmitOrderChange",
    "ActionTrackRefund",
    "ValidateChangeOrderForm",
    "ValidateChangeShippingAddressForm",
]
