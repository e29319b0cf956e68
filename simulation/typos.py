"""Typing slips customers make on a phone keyboard: a letter swapped, dropped, doubled or hit next
to the right key. Numbers are left alone, so an order number stays that order's."""

import random

NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm",
    "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji",
    "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}


def slip(word: str, rng: random.Random) -> str:
    """One slip in `word` (of 4 letters or more)."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double", "neighbour"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    near = NEIGHBOURS.get(word[i].lower())
    return word[:i] + rng.choice(near) + word[i + 1:] if near else word


def with_typos(text: str, rng: random.Random, rate: float) -> str:
    """`text` with a slip in each longer word with probability `rate`; keywords in capitals ("STOP")
    are typed with care, as customers do."""
    words = text.split(" ")
    return " ".join(
        slip(w, rng) if len(w) >= 4 and w.isalpha() and not w.isupper() and rng.random() < rate else w
        for w in words
    )
