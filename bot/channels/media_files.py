"""The media route of the Rasa channel: files the bot sends by link, served beside the webhook
(which names may be served: shop/media_files.py)."""

from pathlib import Path

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from shop.media_files import media_path


def add_media_route(hook: Blueprint, media_dir: Path) -> None:
    @hook.route("/media/<name:str>", methods=["GET"])
    async def media(request: Request, name: str) -> HTTPResponse:
        path = media_path(media_dir, name)
        if path is None:
            return response.json({"error": "no such file"}, status=404)
        return await response.file(path)
