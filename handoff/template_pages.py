"""The inbox's page of message templates, for administrators: make one, submit it to Meta, follow its review.

Submitting is a CSRF-protected POST form like every inbox form; the work is `templates_api.submit`'s (and so
`whatsapp_cloud/policy/template_submissions.py`'s), so the page and the API can never differ. A template the
checks or Meta refuse comes back with the form filled in and the reason.
"""

from typing import Any, Dict

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from handoff.inbox import signed_in
from handoff.templates_api import MetaRefused, submissions, submit
from whatsapp_cloud.policy.template_drafts import DraftError
from whatsapp_cloud.policy.template_submissions import SubmissionError
from whatsapp_cloud.policy.templates import CATEGORIES

FIELDS = ("name", "language", "category", "header", "body", "footer", "buttons", "parameters")


def _admin_only() -> None:
    if g.agent.role != "admin":
        abort(403)


def _page(form: Dict[str, str], status: int = 200) -> Any:
    return render_template("templates.html", agent=g.agent, form=form, categories=CATEGORIES,
                           templates=submissions().list()), status


def parameters_of(text: str) -> Dict[str, str]:
    """`name: example` lines (the form's parameters box) as a mapping."""
    found: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, example = line.partition(":")
        if not sep:
            raise DraftError(f"parameters: write each as name: example ({line.strip()!r})")
        found[name.strip()] = example.strip()
    return found


def add_template_pages(inbox: Blueprint) -> None:
    @inbox.get("/inbox/templates")
    @signed_in
    def templates_page() -> Any:
        _admin_only()
        return _page({"language": "en_US", "category": "UTILITY"})

    @inbox.post("/inbox/templates")
    @signed_in
    def create_template() -> Any:
        _admin_only()
        form = {field: request.form.get(field, "") for field in FIELDS}
        try:
            fields = {**form, "buttons": form["buttons"].splitlines(), "parameters": parameters_of(form["parameters"])}
            made = submit(fields, by=g.agent.username)
        except (DraftError, SubmissionError, MetaRefused) as exc:
            flash(f"Not submitted: {exc}", "error")
            return _page(form, 400 if not isinstance(exc, MetaRefused) else exc.status)
        flash(f"{made['name']} ({made['language']}) submitted to Meta for review.", "ok")
        return redirect(url_for("inbox.templates_page") + f"#template-{made['name']}-{made['language']}")
