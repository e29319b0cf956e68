"""Invoices as PDF documents (fpdf2), written under an unguessable name into the media directory."""

import secrets
from pathlib import Path

from fpdf import FPDF

from shop.orders import money
from shop.service import OrderView


def render_invoice(order: OrderView, seller: str, compress: bool = True) -> bytes:
    """The invoice of a paid order as PDF bytes."""
    if order.invoice_number is None:
        raise ValueError(f"order {order.number} has no invoice yet")
    pdf = FPDF()
    pdf.set_compression(compress)
    pdf.set_title(f"Invoice {order.invoice_number}")
    pdf.set_author(seller)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, seller, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 7, f"Invoice {order.invoice_number}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"Date: {order.invoice_date:%Y-%m-%d}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"Order: {order.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.cell(0, 7, f"Bill to: {_latin1(order.customer_name)}", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 7, _latin1(order.shipping_address), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    for text, width, align in (("Item", 100, "L"), ("Qty", 20, "R"), ("Unit price", 35, "R"), ("Amount", 35, "R")):
        pdf.cell(width, 8, text, border="B", align=align)
    pdf.ln()
    pdf.set_font("Helvetica", "", 11)
    for item in order.items:
        pdf.cell(100, 8, _latin1(item.description)[:55])
        pdf.cell(20, 8, str(item.quantity), align="R")
        pdf.cell(35, 8, money(item.unit_price_cents, order.currency), align="R")
        pdf.cell(35, 8, money(item.quantity * item.unit_price_cents, order.currency), align="R")
        pdf.ln()
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(155, 10, "Total", align="R")
    pdf.cell(35, 10, money(order.total_cents, order.currency), align="R")
    return bytes(pdf.output())


def write_invoice(order: OrderView, seller: str, directory: Path) -> str:
    """Writes the PDF under a fresh unguessable name; returns that name."""
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_urlsafe(24) + ".pdf"
    (directory / name).write_bytes(render_invoice(order, seller))
    return name


def _latin1(text: str) -> str:
    # The core PDF fonts cover Latin-1 only; other characters are replaced, not fatal.
    return text.encode("latin-1", "replace").decode("latin-1")
