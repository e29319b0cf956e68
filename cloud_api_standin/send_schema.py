"""The shape Meta's Graph API accepts on POST /{version}/{phone-number-id}/messages.

Limits follow Meta's documentation (text 4096, reply buttons 3 with 20-character titles,
list rows 10 in all, captions 1024); see the README's platform notes.
"""

_media = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "link": {"type": "string", "pattern": "^https?://"},
        "caption": {"type": "string", "maxLength": 1024},
        "filename": {"type": "string"},
    },
    "anyOf": [{"required": ["id"]}, {"required": ["link"]}],
}

_text_object = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 1024}},
}

_reply_button = {
    "type": "object",
    "required": ["type", "reply"],
    "properties": {
        "type": {"const": "reply"},
        "reply": {
            "type": "object",
            "required": ["id", "title"],
            "properties": {
                "id": {"type": "string", "minLength": 1, "maxLength": 256},
                "title": {"type": "string", "minLength": 1, "maxLength": 20},
            },
        },
    },
}

_list_row = {
    "type": "object",
    "required": ["id", "title"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 200},
        "title": {"type": "string", "minLength": 1, "maxLength": 24},
        "description": {"type": "string", "maxLength": 72},
    },
}

_interactive = {
    "type": "object",
    "required": ["type", "action"],
    "properties": {
        "type": {
            "enum": [
                "button", "list", "cta_url", "product", "product_list", "catalog_message",
                "flow", "location_request_message", "voice_call", "call_permission_request",
            ]
        },
        "body": _text_object,
        "footer": {
            "type": "object",
            "properties": {"text": {"type": "string", "maxLength": 60}},
        },
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "button"}}},
            "then": {
                "required": ["body"],
                "properties": {
                    "action": {
                        "type": "object",
                        "required": ["buttons"],
                        "properties": {
                            "buttons": {
                                "type": "array", "minItems": 1, "maxItems": 3, "items": _reply_button,
                            }
                        },
                    }
                },
            },
        },
        {
            "if": {"properties": {"type": {"const": "list"}}},
            "then": {
                "required": ["body"],
                "properties": {
                    "action": {
                        "type": "object",
                        "required": ["button", "sections"],
                        "properties": {
                            "button": {"type": "string", "minLength": 1, "maxLength": 20},
                            "sections": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 10,
                                "items": {
                                    "type": "object",
                                    "required": ["rows"],
                                    "properties": {
                                        "title": {"type": "string", "maxLength": 24},
                                        "rows": {"type": "array", "minItems": 1, "items": _list_row},
                                    },
                                },
                            },
                        },
                    }
                },
            },
        },
        {
            "if": {"properties": {"type": {"const": "cta_url"}}},
            "then": {
                "properties": {
                    "action": {
                        "type": "object",
                        "required": ["name", "parameters"],
                        "properties": {
                            "name": {"const": "cta_url"},
                            "parameters": {
                                "type": "object",
                                "required": ["display_text", "url"],
                                "properties": {
                                    "display_text": {"type": "string", "maxLength": 20},
                                    "url": {"type": "string", "pattern": "^https?://"},
                                },
                            },
                        },
                    }
                }
            },
        },
    ],
}

_template = {
    "type": "object",
    "required": ["name", "language"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "language": {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string", "minLength": 2}},
        },
        "components": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"enum": ["header", "body", "button", "footer"]}},
            },
        },
    },
}

MESSAGE_TYPES = {
    "text": {
        "type": "object",
        "required": ["body"],
        "properties": {
            "body": {"type": "string", "minLength": 1, "maxLength": 4096},
            "preview_url": {"type": "boolean"},
        },
    },
    "image": _media,
    "video": _media,
    "audio": _media,
    "document": _media,
    "sticker": _media,
    "interactive": _interactive,
    "template": _template,
    "reaction": {
        "type": "object",
        "required": ["message_id", "emoji"],
        "properties": {"message_id": {"type": "string"}, "emoji": {"type": "string"}},
    },
    "location": {
        "type": "object",
        "required": ["latitude", "longitude"],
        "properties": {
            "latitude": {"type": ["number", "string"]},
            "longitude": {"type": ["number", "string"]},
        },
    },
    "contacts": {"type": "array", "minItems": 1},
}

SEND_MESSAGE = {
    "type": "object",
    # `type` may be left out: Meta then treats the message as text.
    "required": ["messaging_product"],
    "properties": {
        "messaging_product": {"const": "whatsapp"},
        "recipient_type": {"enum": ["individual", "group"]},
        "to": {"type": "string", "minLength": 1},
        "recipient": {"type": "string", "minLength": 1},
        "type": {"enum": sorted(MESSAGE_TYPES)},
        "context": {
            "type": "object",
            "required": ["message_id"],
            "properties": {"message_id": {"type": "string"}},
        },
        "biz_opaque_callback_data": {"type": "string", "maxLength": 512},
        **MESSAGE_TYPES,
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": t}}, "required": ["type"]}, "then": {"required": [t]}}
        for t in MESSAGE_TYPES
    ]
    + [{"if": {"not": {"required": ["type"]}}, "then": {"required": ["text"]}}],
}

MARK_READ = {
    "type": "object",
    "required": ["messaging_product", "status", "message_id"],
    "properties": {
        "messaging_product": {"const": "whatsapp"},
        "status": {"const": "read"},
        "message_id": {"type": "string", "minLength": 1},
        "typing_indicator": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"const": "text"}},
        },
    },
}
