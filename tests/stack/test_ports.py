"""No default port of the stack is one that browsers refuse to open (the inbox must open in Chrome and
Firefox as the README says)."""

from pathlib import Path

from stack import settings

# The Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#port-blocking): Chrome and Firefox
# answer ERR_UNSAFE_PORT / "This address is restricted" for them.
BAD_PORTS = {
    0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
    109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
    526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
    3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
}


def test_no_default_port_is_a_port_browsers_refuse(tmp_path: Path) -> None:
    env = settings.resolve({"VAR_DIR": str(tmp_path), "ENV_FILE": str(tmp_path / "none.env")})
    ports = {key: int(env[key]) for key in settings.PORT_KEYS}
    assert not {key: port for key, port in ports.items() if port in BAD_PORTS}
    assert env["HANDOFF_URL"].endswith(":5080")


def test_the_docs_give_the_inbox_a_port_browsers_open() -> None:
    for doc in ("README.md", "handoff/README.md", ".env.example", "bot/actions/handoff_service.py"):
        text = (settings.ROOT / doc).read_text()
        assert ":5060" not in text and "PORT=5060" not in text, doc
