"""Files the platform sends and keeps: which requested names may be served, and from where.

The bot's generated invoices (sent by link) and copies of the images and documents agents send (kept for the
chat's transcript) share the directory, its retention and the erasure of a customer's files.

Meta fetches a `document.link` over HTTPS from the business's server. Names are unguessable tokens
(`invoice_pdf.write_invoice`); anything else is refused, so no route can read outside the directory.
"""

import re
from pathlib import Path
from typing import Optional

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{16,128}\.(pdf|png|jpg|jpeg|doc|docx|xls|xlsx|ppt|pptx|txt)$")


def media_path(media_dir: Path, name: str) -> Optional[Path]:
    """The file for a requested name, or None when the name is not one the platform could have written."""
    if not SAFE_NAME.match(name):
        return None
    path = media_dir / name
    return path if path.is_file() else None
