"""The inbox's "Export data" and "Erase data" buttons in the customer panel, and the page of privacy requests
customers made in the chat (each with the same two buttons), for administrators.

Both are CSRF-protected forms (POST, so a link from elsewhere can start neither); the erasure asks for the
number again, as the API and the command line do. The work is `handoff/privacy_api.py`'s, so the page and the
API can never differ.
"""

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from handoff.api import BadRequest
from handoff.inbox import signed_in
from handoff.privacy_api import NotConfirmed, erase_customer, export_document, privacy_requests_listed
from privacy.requests import CustomerWithAgent


def _back() -> str:
    target = request.form.get("back", "")
    return target if target.startswith("/inbox/") else url_for("inbox.queue")  # never off-site


def _admin_only() -> None:
    if g.agent.role != "admin":
        abort(403)


def add_privacy_pages(inbox: Blueprint) -> None:
    @inbox.get("/inbox/privacy-requests")
    @signed_in
    def privacy_requests_page() -> Any:
        _admin_only()
        listed = [{**r, "asked": datetime.fromtimestamp(r["requested_at"], timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
                  for r in privacy_requests_listed()]
        return render_template("privacy_requests.html", agent=g.agent, requests=listed)

    @inbox.post("/inbox/customers/<wa_id>/export")
    @signed_in
    def export_customer(wa_id: str) -> Any:
        _admin_only()
        try:
            document = export_document(wa_id, g.agent.username)
        except BadRequest as exc:
            flash(str(exc), "error")
            return redirect(_back())
        return Response(document, mimetype="application/json", headers={
            "Content-Disposition": f'attachment; filename="customer-{wa_id.lstrip("+")}.json"',
            "Cache-Control": "no-store"})

    @inbox.post("/inbox/customers/<wa_id>/erase")
    @signed_in
    def erase_customer_page(wa_id: str) -> Any:
        _admin_only()
        try:
            receipt = erase_customer(wa_id, request.form.get("confirm", ""), g.agent.username)
        except (BadRequest, NotConfirmed, CustomerWithAgent) as exc:
            flash(f"Nothing erased: {exc}.", "error")
            return redirect(_back())
        return render_template("erased.html", agent=g.agent, receipt=receipt)
