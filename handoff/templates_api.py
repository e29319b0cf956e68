"""Message templates created from the app, for administrators (documented in openapi.yaml).

`whatsapp_cloud/policy/template_submissions.py` submits a checked draft to Meta and follows its review; this
module checks who asks and answers. Only an administrator's own token may create or list them: a template
speaks in the business's name to every customer it is sent to, and each records who made it. The inbox's
Templates page (template_pages.py) calls `submit` too, so the page and the API can never differ.
"""

from typing import Any, Callable, Dict, Mapping

from flask import Blueprint, current_app, g, jsonify

from handoff.api import BadRequest, authenticated, body, error, person
from whatsapp_cloud.graph.errors import GraphApiError
from whatsapp_cloud.policy.template_drafts import DraftError, TemplateDraft
from whatsapp_cloud.policy.template_submissions import SubmissionError, TemplateSubmissions


class MetaRefused(Exception):
    """Meta refused the template at creation, or could not be reached; the message says which."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def submissions() -> TemplateSubmissions:
    return current_app.extensions["template_submissions"]


def submit(fields: Mapping[str, Any], by: str) -> Dict[str, Any]:
    """Check and submit a template; DraftError, SubmissionError or MetaRefused when it cannot go."""
    draft = TemplateDraft.from_mapping(fields)
    try:
        return submissions().submit(draft, by=by)
    except GraphApiError as exc:
        if exc.code is None:  # Meta unreachable: nothing was created, the administrator may try again
            raise MetaRefused(f"WhatsApp could not be reached: {exc}", 502) from exc
        raise MetaRefused(f"Meta refused the template: {exc}", 422) from exc


def admin(view: Callable) -> Callable:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if g.agent.role != "admin":
            return error("message templates are made by administrators", 403)
        return view(*args, **kwargs)
    guarded.__name__ = view.__name__
    return guarded


def create_templates_api() -> Blueprint:
    api = Blueprint("templates_api", __name__)

    @api.errorhandler(BadRequest)
    @api.errorhandler(DraftError)
    def invalid(exc: Exception) -> Any:
        return error(str(exc), 400)

    @api.errorhandler(SubmissionError)
    def conflict(exc: SubmissionError) -> Any:
        return error(str(exc), 409)

    @api.errorhandler(MetaRefused)
    def refused(exc: MetaRefused) -> Any:
        return error(str(exc), exc.status)

    @api.post("/api/message-templates")
    @authenticated
    @person
    @admin
    def create() -> Any:
        return jsonify(template=submit(body(), g.agent.username)), 201

    @api.get("/api/message-templates")
    @authenticated
    @person
    @admin
    def index() -> Any:
        return jsonify(templates=submissions().list())

    return api
