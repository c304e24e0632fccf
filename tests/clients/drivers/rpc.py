"""Runs inside .venv-clients (the vendors' own clients, Python 3.12): serves one operation per
JSON line on stdin, answering on the original stdout. Standard library only.

Each answer carries what the operation returned, what it printed (vendor SDKs print instead of
raising), and every HTTP exchange it made, so a test can assert a call's result, its output
and that no request met a 5xx.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

Exchange = dict[str, Any]
_exchanges: list[Exchange] = []


def _record_requests() -> None:
    """Wrap the clients' HTTP libraries so each exchange is recorded (method, url, status)."""
    try:
        import requests
    except ImportError:
        pass
    else:
        original = requests.Session.send

        def send(self: Any, request: Any, **kwargs: Any) -> Any:
            response = original(self, request, **kwargs)
            _exchanges.append(
                {"method": request.method, "url": request.url, "status": response.status_code}
            )
            return response

        requests.Session.send = send  # type: ignore[method-assign]
    for module_name in ("httpx", "httpx2"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        for cls in (module.Client, module.AsyncClient):
            _wrap_httpx(cls)


def _wrap_httpx(cls: Any) -> None:
    original = cls.send
    if getattr(original, "_recorded", False):
        return
    if cls.__name__ == "AsyncClient":

        async def send_async(self: Any, request: Any, **kwargs: Any) -> Any:
            response = await original(self, request, **kwargs)
            _exchanges.append(
                {"method": request.method, "url": str(request.url), "status": response.status_code}
            )
            return response

        send_async._recorded = True  # type: ignore[attr-defined]
        cls.send = send_async
    else:

        def send(self: Any, request: Any, **kwargs: Any) -> Any:
            response = original(self, request, **kwargs)
            _exchanges.append(
                {"method": request.method, "url": str(request.url), "status": response.status_code}
            )
            return response

        send._recorded = True  # type: ignore[attr-defined]
        cls.send = send


def jsonable(value: Any) -> Any:
    """Pydantic models, dataclasses and plain objects as JSON-able data."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="json", by_alias=True))
    if hasattr(value, "json") and callable(value.json) and hasattr(value, "status_code"):
        try:
            return {"status_code": value.status_code, "json": value.json()}
        except ValueError:
            return {"status_code": value.status_code, "text": value.text}
    if hasattr(value, "__dict__"):
        return {k: jsonable(v) for k, v in vars(value).items() if not k.startswith("_")}
    return repr(value)


def serve(operations: dict[str, Callable[..., Any]]) -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else written to stdout goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    _record_requests()
    for line in sys.stdin:
        request = json.loads(line)
        _exchanges.clear()
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                result = operations[request["op"]](**request.get("args", {}))
            answer: dict[str, Any] = {"ok": True, "result": jsonable(result)}
        except BaseException as exc:  # SDKs call sys.exit too; the test decides what it means
            answer = {
                "ok": False,
                "result": None,
                "error": {"type": type(exc).__name__, "message": str(exc)},
                "traceback": traceback.format_exc(),
            }
        answer["printed"] = printed.getvalue()
        answer["http"] = list(_exchanges)
        answers.write(json.dumps(answer, default=repr) + "\n")
