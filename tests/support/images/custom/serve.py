"""A custom OpenAI-style chat server: llama.cpp bindings behind the stdlib HTTP server.

Serves on $PORT, requires `Authorization: Bearer $MODELPORT_REPLICA_KEY` when that is set, loads
the GGUF named by --model (or $MODEL_PATH). Routes: GET /health, POST /v1/chat/completions.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from llama_cpp import Llama

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=os.environ.get("MODEL_PATH"))
parser.add_argument("--max-tokens", type=int, default=32)
options = parser.parse_args()
llm = Llama(model_path=options.model, n_ctx=1024, n_threads=1, verbose=False)
lock = threading.Lock()
key = os.environ.get("MODELPORT_REPLICA_KEY")


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _allowed(self) -> bool:
        if key and self.headers.get("Authorization") != f"Bearer {key}":
            self._answer(401, {"error": {"message": "bad replica key"}})
            return False
        return True

    def do_GET(self) -> None:
        if self._allowed():
            self._answer(200 if self.path == "/health" else 404, {"status": "ok"})

    def do_POST(self) -> None:
        if not self._allowed():
            return
        if self.path != "/v1/chat/completions":
            self._answer(404, {"error": {"message": "no such route"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        with lock:
            out = llm.create_chat_completion(
                messages=body["messages"], max_tokens=body.get("max_tokens", options.max_tokens)
            )
        out["model"] = body.get("model", "custom")
        self._answer(200, out)

    def log_message(self, format: str, *args: object) -> None:
        print(f"custom-chat: {format % args}", flush=True)


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
