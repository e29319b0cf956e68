"""Log records as one JSON object per line (LOG_FORMAT=json), for a log collector.

A record carries the message's `wamid` and the customer's keyed pseudonym (`customer`, whatsapp_cloud/
pseudonyms.py) when the code that logs gives them (`extra={"wamid": ..., "customer": ...}`). Above debug
level the text is scrubbed: a phone number that slipped into a message becomes its pseudonym, secrets in
query strings are masked. Message texts are never logged above debug level in the first place.
"""

import json
import logging
from datetime import datetime, timezone

from whatsapp_cloud import pseudonyms

CARRIED = ("wamid", "customer", "worker")  # extra fields copied into the line when a record has them


class JsonFormatter(logging.Formatter):
    def __init__(self, pseudonym_key: str, service: str = "") -> None:
        super().__init__()
        self.key = pseudonym_key
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.levelno > logging.DEBUG:
            text = pseudonyms.scrub(text, self.key)
        line = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            **({"service": self.service} if self.service else {}),
            "message": text,
        }
        for name in CARRIED:
            value = getattr(record, name, None)
            if value:
                line[name] = str(value)
        return json.dumps(line, ensure_ascii=False)
