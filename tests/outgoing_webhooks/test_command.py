"""`python -m tools.webhook_subscriptions`: add (the secret printed once), list without it, pause, the
dead letters and their re-send, refusals with the reason; on a real Redis."""

import pytest
import redis

from outgoing_webhooks import keys
from outgoing_webhooks.subscriptions import Subscriptions
from tools import webhook_subscriptions as command


@pytest.fixture()
def store(redis_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> redis.Redis:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "none.env"))
    return redis.Redis.from_url(redis_url, decode_responses=True)


def test_subscriptions_and_dead_letters_from_the_command_line(store: redis.Redis, capsys) -> None:
    assert command.main(["add", "https://crm.example.com/hooks", "--event", "chat.escalated",
                         "--event", "ticket.created", "--description", "CRM"]) == 0
    added = capsys.readouterr().out
    [sub] = Subscriptions(store).list()
    secret = store.hget(keys.subscription(sub["id"]), "secret")
    assert secret in added and sub["events"] == ["ticket.created", "chat.escalated"]
    assert command.main(["pause", sub["id"]]) == 0 and command.main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "paused" in listed and "https://crm.example.com/hooks" in listed and secret not in listed
    dead = store.xadd(keys.DEAD, {"subscription": sub["id"], "event_id": "1-0", "type": "chat.escalated",
                                  "body": "{}", "first_at": "1", "attempt": "12", "reason": "HTTP 500"})
    assert command.main(["dead-letters"]) == 0 and "HTTP 500" in capsys.readouterr().out
    assert command.main(["resend", dead]) == 0 and store.xlen(keys.DELIVERIES) == 1
    assert command.main(["resend", dead]) == 1
    assert command.main(["remove", "nope"]) == 2 and "no webhook subscription nope" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse refuses an unknown event type, naming the choices
        command.main(["add", "https://crm.example.com/", "--event", "chat.deleted"])
