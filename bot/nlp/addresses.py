"""Whether a message is shaped like a postal address.

The entity ruler tags any 4-6 digit number as an order number, and postcodes are such numbers
("Main Street 5, 10115 Berlin"). So the actions ask this module before they take a number from a
message: an address is never read as an order.
"""

import re
from typing import Optional

# Street types written after the name ("Harbour Street", "Hauptstr.", "Cedar Way").
AFTER_NAME = (
    r"street|st|str|strasse|straße|road|rd|avenue|ave|lane|ln|way|drive|dr|boulevard|blvd|court|ct|"
    r"place|pl|square|sq|terrace|close|crescent|parkway|highway|hwy|alley|row|walk|gardens|"
    r"weg|ring|damm|ufer|straat|laan|plein|platz|allee|gasse"
)
# Street types written before the name ("Rua das Flores 45", "Calle Mayor 12", "rue de Rivoli 10").
BEFORE_NAME = r"rua|avenida|av|calle|carrer|viale|piazza|rue|chemin|avenue|boulevard|plaza|travessa"
# Words that are never a street's name ("on the road 5 days").
NOT_A_NAME = r"(?!(?:the|a|an|my|your|our|on|in|at|to|of|by|this|that|no|any|which|what|wrong|same)\b)"
WORD = r"[^\W\d_]{2,}"
HOUSE_NUMBER = r"\d{1,3}[a-z]?"  # order numbers have 4-6 digits

SHAPES = [
    # "12 Harbour Street", "8 Cedar Avenue"
    rf"\b{HOUSE_NUMBER},?\s+(?:{NOT_A_NAME}{WORD}\s+){{1,3}}(?:{AFTER_NAME})\b",
    # "Main Street 5", "harbour st. 12"
    rf"(?<![\w-]){NOT_A_NAME}{WORD}\.?\s+(?:{AFTER_NAME})\.?\s*{HOUSE_NUMBER}\b",
    # "Hauptstr. 5", "Bahnhofstrasse 12", "Königsallee 3"
    rf"{WORD}(?:str\.?|strasse|straße|allee|weg|gasse|platz|damm)\s*{HOUSE_NUMBER}\b",
    rf"\b(?:{BEFORE_NAME})\.?\s+(?:{WORD}\s+){{0,3}}{WORD},?\s*{HOUSE_NUMBER}\b",
    rf"\b{HOUSE_NUMBER},?\s+(?:{BEFORE_NAME})\.?\s+{WORD}",
    # "apt 4", "flat 2b", "suite #300"
    r"\b(?:apt|apartment|suite|flat|unit|floor|po box)\.?\s*#?\d",
    # a postcode beside a place: "5, 10115 Berlin", "Porto 4000-001", "Springfield, 62701"
    rf"\d+[a-z]?\s*,\s*\d{{4,5}}(?:-\d{{3,4}})?\s+{WORD}",
    rf"{WORD},?\s+\d{{4,5}}-\d{{3,4}}\b",
    rf"{WORD},\s*\d{{5}}\s*$",
]
ADDRESS = re.compile("|".join(f"(?:{shape})" for shape in SHAPES), re.IGNORECASE)


def looks_like_address(text: str) -> bool:
    """True for "Main Street 5, 10115 Berlin", "7 Rua Nova, Porto 4000-001"; False for "order 1003"."""
    return bool(ADDRESS.search(" ".join(str(text or "").split())))


# What customers write before the address itself: "change it to", "new address:", "send it to".
LEAD_IN = re.compile(r"^.*?(?:\bto\b|\baddress(?: is)?\b|:)\s*:?\s*", re.IGNORECASE)


def address_part(text: str) -> Optional[str]:
    """The address in a message that holds one, without the words that lead to it; else None."""
    text = " ".join(str(text or "").split())
    if not looks_like_address(text):
        return None
    rest = LEAD_IN.sub("", text, count=1)
    return rest if looks_like_address(rest) else text
