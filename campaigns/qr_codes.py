"""QR codes of click-to-chat links, as PNG and SVG (segno: pure Python, no dependencies).

Error correction M (15% of the code may be damaged or covered) and the standard quiet zone of 4 modules:
what printed posters and screens need; segno raises the level by itself when the data leaves room.
"""

import io

import segno

PNG_SCALE = 10  # pixels per module: about 4 cm at 300 dpi for a 140-character link
SVG_SCALE = 4


def _code(link: str) -> segno.QRCode:
    return segno.make_qr(link, error="m", boost_error=True)


def png(link: str) -> bytes:
    out = io.BytesIO()
    _code(link).save(out, kind="png", scale=PNG_SCALE, border=4)
    return out.getvalue()


def svg(link: str) -> bytes:
    out = io.BytesIO()
    _code(link).save(out, kind="svg", scale=SVG_SCALE, border=4, xmldecl=False, title="WhatsApp link")
    return out.getvalue()
