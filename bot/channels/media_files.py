"""Files the bot sends by link (invoices, generated documents), served from the channel's public URL.

Meta fetches a `document.link` over HTTPS from the business's server, so the files live beside the
webhook. Names are unguessable tokens written by the action server into MEDIA_DIR; anything else is
refused, so the route can never read outside that directory.
"""

import re
from pathlib import Path
from typing import Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{16,128}\.(pdf|png|jpg|jpeg)$")


def media_path(media_dir: Path, name: str) -> Optional[Path]:
    """The file for a requested name, or None when the name is not one the bot could have written."""
    if not SAFE_NAME.match(name):
        return None
    path = media_dir / name
    return path if path.is_file() else None


def add_media_route(hook: Blueprint, media_dir: Path) -> None:
    @hook.route("/media/<name:str>", methods=["GET"])
    async def media(request: Request, name: str) -> HTTPResponse:
        path = media_path(media_dir, name)
        if path is None:
            return response.json({"error": "no such file"}, status=404)
        return await response.file(path)
