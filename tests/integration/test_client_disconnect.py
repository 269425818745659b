"""A client that hangs up while sending a form is no server error."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest


def test_client_leaving_mid_form_is_not_logged_as_an_error(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/inputs",
        "raw_path": b"/inputs",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"1000"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }
    chunks = [
        {"type": "http.request", "body": b"title=Halvveis", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        # The lifespan is not needed: create_app builds everything it uses up front.
        await app(scope, receive, send)

    # A thread of its own: a browser test may have left an event loop running in this process.
    with caplog.at_level(logging.INFO, logger="korona.web.errors"), ThreadPoolExecutor(1) as runner:
        runner.submit(asyncio.run, call()).result()
    start = next(message for message in sent if message["type"] == "http.response.start")
    assert start["status"] == 400
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any(
        "client left during POST /inputs" in record.getMessage() for record in caplog.records
    )
