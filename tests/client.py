"""A test client that closes each request's body stream once the response is back.

Werkzeug's test client encodes a multipart body of more than 500 KB into a temporary file
(``TemporaryFile("wb+")`` in ``werkzeug.test.stream_encode_multipart``) and never closes it:
``EnvironBuilder.close()`` closes only the files it was given. The file is left for the garbage
collector, which may run during a later test and fail it with a ``ResourceWarning`` (warnings
are errors here). This client closes that stream where the request is made.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse
from werkzeug.wrappers import Request


class ClosingClient(FlaskClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bodies: list[Any] = []

    def _request_from_builder_args(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        request = super()._request_from_builder_args(args, kwargs)
        self._bodies.append(request.environ.get("wsgi.input"))
        return request

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        try:
            return super().open(*args, **kwargs)
        finally:
            while self._bodies:
                body = self._bodies.pop()
                if body is not None:
                    body.close()
