"""A template draft becomes Meta's creation request with named parameters, or a clear refusal naming the field."""

import pytest

from whatsapp_cloud.policy.template_drafts import DraftError, TemplateDraft

DRAFT = {"name": "back_in_stock", "language": "en_US", "category": "utility", "header": "About {{product}}",
         "body": "Hi {{first_name}}, {{product}} is back in stock. Reply to reserve it.",
         "footer": "Harbour Home Goods",
         "buttons": ["Reserve it", "Not now"], "parameters": [{"name": "first_name", "example": "Ana"},
                                                              {"name": "product", "example": "the oak table"}]}


def test_the_request_is_meta_s_shape_with_named_parameters_and_their_examples():
    assert TemplateDraft.from_mapping(DRAFT).request() == {
        "name": "back_in_stock", "language": "en_US", "category": "UTILITY", "parameter_format": "NAMED",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "About {{product}}",
             "example": {"header_text_named_params": [{"param_name": "product", "example": "the oak table"}]}},
            {"type": "BODY", "text": DRAFT["body"], "example": {"body_text_named_params": [
                {"param_name": "first_name", "example": "Ana"},
                {"param_name": "product", "example": "the oak table"}]}},
            {"type": "FOOTER", "text": "Harbour Home Goods"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Reserve it"},
                                            {"type": "QUICK_REPLY", "text": "Not now"}]}]}


@pytest.mark.parametrize("changes, says", [
    ({"name": "back-in-stock"}, "name: lower-case letters"),
    ({"language": "English"}, "language: a code"),
    ({"body": ""}, "body: the text is required"),
    ({"body": "x" * 1025}, "body: at most 1024 characters"),
    ({"footer": "Sent to {{first_name}}"}, "footer: parameters are not allowed"),
    ({"header": "{{product}} for {{first_name}}"}, "header: at most one parameter"),
    ({"body": "Hi {{first_name}}, hi again {{first_name}}. Reply.", "header": ""}, "body: each parameter appears once"),
    ({"body": "Hi {{1}}, it is back. Reply to reserve it.", "header": ""}, "parameter {{1}} must be named"),
    ({"parameters": {"first_name": "Ana"}}, "product needs an example"),
    ({"parameters": {"first_name": "Ana", "product": "lamp", "colour": "red"}}, "colour appear in no text"),
    ({"buttons": ["Reserve this lovely item today"]}, "longer than 25 characters"),
    ({"buttons": [f"Option {n}" for n in range(11)]}, "buttons: at most 10"),
])
def test_what_meta_refuses_at_creation_is_refused_with_the_field(changes, says):
    with pytest.raises(DraftError, match=says.replace("{", r"\{").replace("}", r"\}")):
        TemplateDraft.from_mapping({**DRAFT, **changes})
