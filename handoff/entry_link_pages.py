"""The inbox's page of click-to-chat links, for administrators: make one, list them, download QR codes.

Making a link is a CSRF-protected POST form like every inbox form; the work is `entry_links_api.py`'s (and
so `campaigns/entry_points.py`'s), so the page and the API can never differ.
"""

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from campaigns.entry_links import MAX_PREFILLED, InvalidLink
from campaigns.entry_points import LinkNotFound, NoBusinessNumber
from handoff.entry_links_api import entry_links, qr_code
from handoff.inbox import signed_in


def _admin_only() -> None:
    if g.agent.role != "admin":
        abort(403)


def add_entry_link_pages(inbox: Blueprint) -> None:
    @inbox.get("/inbox/links")
    @signed_in
    def entry_links_page() -> Any:
        _admin_only()
        return render_template("entry_links.html", agent=g.agent, links=entry_links().list(),
                               number=entry_links().number, max_prefilled=MAX_PREFILLED,
                               form={"source": request.args.get("source", ""), "text": request.args.get("text", "")})

    @inbox.post("/inbox/links")
    @signed_in
    def create_entry_link() -> Any:
        _admin_only()
        source, text = request.form.get("source", ""), request.form.get("text", "")
        try:
            link = entry_links().create(source, text, created_by=g.agent.username)
        except (InvalidLink, NoBusinessNumber) as exc:
            flash(f"No link made: {exc}.", "error")
            # The form comes back filled in, so a text one word too long is fixed, not typed again.
            return redirect(url_for("inbox.entry_links_page", source=source, text=text))
        flash(f"Link {link['ref']} made for {link['source']}.", "ok")
        return redirect(url_for("inbox.entry_links_page") + f"#link-{link['ref']}")

    @inbox.get("/inbox/links/<reference>.<any(png, svg):kind>")
    @signed_in
    def entry_link_qr(reference: str, kind: str) -> Any:
        _admin_only()
        try:
            return qr_code(reference, kind, download=True)
        except LinkNotFound:
            abort(404)
