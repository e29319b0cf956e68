"""Click-to-chat links and their QR codes, for administrators (documented in openapi.yaml).

`campaigns/entry_points.py` makes and keeps the links; this module checks who asks and answers. Only an
administrator's own token may make or list them: a link is printed on posters and packaging in the business's
name, and each one records who made it. The inbox's page (entry_link_pages.py) calls the same code.
"""

from typing import Any, Callable

from flask import Blueprint, Response, current_app, g, jsonify

from campaigns import qr_codes
from campaigns.entry_links import InvalidLink
from campaigns.entry_points import EntryLinks, LinkNotFound, NoBusinessNumber
from handoff.api import BadRequest, authenticated, body, error, person

QR_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def entry_links() -> EntryLinks:
    return current_app.extensions["entry_links"]


def qr_code(reference: str, kind: str, download: bool) -> Response:
    """A link's QR code as PNG or SVG; `download` names the file for saving."""
    if kind not in QR_TYPES:
        raise LinkNotFound(f"{reference}.{kind}")
    link = entry_links().get(reference)
    drawn = qr_codes.png(link["url"]) if kind == "png" else qr_codes.svg(link["url"])
    headers = {"Cache-Control": "private, max-age=3600"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="whatsapp-link-{link["ref"]}.{kind}"'
    return Response(drawn, mimetype=QR_TYPES[kind], headers=headers)


def admin(view: Callable) -> Callable:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if g.agent.role != "admin":
            return error("click-to-chat links are made by administrators", 403)
        return view(*args, **kwargs)
    guarded.__name__ = view.__name__
    return guarded


def create_entry_links_api() -> Blueprint:
    api = Blueprint("entry_links_api", __name__)

    @api.errorhandler(BadRequest)
    @api.errorhandler(InvalidLink)
    def invalid(exc: Exception) -> Any:
        return error(str(exc), 400)

    @api.errorhandler(LinkNotFound)
    def missing(exc: LinkNotFound) -> Any:
        return error(str(exc), 404)

    @api.errorhandler(NoBusinessNumber)
    def unconfigured(exc: NoBusinessNumber) -> Any:
        return error(str(exc), 409)

    @api.post("/api/entry-links")
    @authenticated
    @person
    @admin
    def create() -> Any:
        data = body()
        source, text = data.get("source"), data.get("text")
        if not isinstance(source, str) or not isinstance(text, str):
            raise BadRequest("'source' and 'text' must be strings")
        return jsonify(link=entry_links().create(source, text, created_by=g.agent.username)), 201

    @api.get("/api/entry-links")
    @authenticated
    @person
    @admin
    def index() -> Any:
        return jsonify(links=entry_links().list())

    @api.get("/api/entry-links/<reference>")
    @authenticated
    @person
    @admin
    def show(reference: str) -> Any:
        return jsonify(link=entry_links().get(reference))

    @api.get("/api/entry-links/<reference>/qr.<kind>")
    @authenticated
    @person
    @admin
    def qr(reference: str, kind: str) -> Any:
        return qr_code(reference, kind, download=False)

    return api
