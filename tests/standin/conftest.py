"""Fixtures of the stand-in's tests: a webhook receiver over real HTTP and the stand-in delivering to it."""

from typing import Any, Iterator, Tuple

import pytest

from tests.standin.harness import WebhookReceiver, make_standin
from tests.support.helpers import serve_wsgi


@pytest.fixture()
def receiver() -> Iterator[Tuple[WebhookReceiver, str]]:
    hook = WebhookReceiver()
    with serve_wsgi(hook.app) as url:
        yield hook, url + "/webhook"


@pytest.fixture()
def standin(receiver: tuple) -> Any:
    return make_standin(receiver[1], STANDIN_STATUSES="off")
