"""Phone numbers typed by people (settings, the opt-in page) as WhatsApp ids: international digits.

Spaces, dashes, dots, brackets and a leading `+` or `00` are dropped; what remains must be 8 to 15 digits
(E.164's maximum) not starting with 0. No per-country rules: a national number without its country code
(`020 7946 0958`) is refused rather than guessed.
"""

SEPARATORS = " +-()./\u00a0"
MIN_DIGITS, MAX_DIGITS = 8, 15


class NotAPhoneNumber(ValueError):
    """The text is not a phone number in international form."""


def international_digits(text: str) -> str:
    """`+44 20 7946 0958` -> `442079460958`; raises NotAPhoneNumber for anything else."""
    raw = (text or "").strip()
    if raw.startswith("00"):
        raw = raw[2:]
    digits = "".join(c for c in raw if c not in SEPARATORS)
    if not (digits.isascii() and digits.isdigit() and MIN_DIGITS <= len(digits) <= MAX_DIGITS
            and not digits.startswith("0")):
        raise NotAPhoneNumber(f"{text!r} is not a phone number in international form, e.g. +44 20 7946 0958")
    return digits
