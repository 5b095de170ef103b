"""The one fake Telegram Bot API of the suite: a real HTTP server on 127.0.0.1.

sendMessage is answered as Telegram answers it, after checking the text would parse in
Telegram's HTML mode (else 400, as Telegram would), unless the test queued other
answers (`answer`) or a handler of its own (`answer_with`). Every call is recorded.
getUpdates serves the messages a test has users send the bot (`message_from`) as
Telegram does: from `offset` on, forgetting those before it, holding the request up to
its `timeout` until one arrives. The unit tests start one per test; the pipeline starts
one for its session's worker.
"""

import json
import re
import threading
import time
from collections.abc import Callable
from html.parser import HTMLParser

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "123:ABC"
SEND = f"/bot{TOKEN}/sendMessage"
TOO_MANY = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 1",
    "parameters": {"retry_after": 1},
}
BAD_CHAT = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a"}
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")

Handler = Callable[[Request], Response]


class _TelegramHTML(HTMLParser):
    """What Telegram's HTML parse mode accepts: a few tags, entities, nothing else."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in TELEGRAM_TAGS:
            self.bad.append(f"<{tag}>")


def check_telegram_html(text: str) -> str | None:
    """Why Telegram would answer 400 "can't parse entities", or None."""
    if "&" in ENTITY.sub("", text):
        return "unescaped &"
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.bad:
        return f"unsupported tags {parser.bad}"
    if "<" in re.sub(r"</?[a-z]+>", "", text) or ">" in re.sub(r"</?[a-z]+>", "", text):
        return "unescaped < or >"
    return None


class FakeTelegram:
    token = TOKEN

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.server.expect_request(
            re.compile(r"^/bot[^/]+/sendMessage$"), method="POST"
        ).respond_with_handler(self._send_message)
        self.server.expect_request(
            re.compile(r"^/bot[^/]+/getUpdates$"), method="POST"
        ).respond_with_handler(self._get_updates)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._updates: list[dict[str, object]] = []
        self._next_update_id = 1
        self._calls: list[tuple[float, dict[str, str]]] = []
        self._answers: list[tuple[str | None, int, dict[str, object]]] = []
        self._handler: Handler | None = None

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def answer(
        self, status: int, body: dict[str, object], *, chat_id: str | None = None, times: int = 1
    ) -> None:
        """The next `times` sendMessage calls (to `chat_id`, or any) get this answer."""
        with self._lock:
            self._answers.extend([(chat_id, status, body)] * times)

    def answer_with(self, handler: Handler) -> None:
        """Every sendMessage from now on is answered by `handler` (after being recorded)."""
        self._handler = handler

    def calls(self, chat_id: str | None = None) -> list[tuple[float, dict[str, str]]]:
        """(monotonic time, form) of each sendMessage (to `chat_id`), in arrival order."""
        with self._lock:
            return [c for c in self._calls if chat_id is None or c[1].get("chat_id") == chat_id]

    def sent(self) -> list[dict[str, str]]:
        """The form of each sendMessage, in arrival order."""
        return [form for _, form in self.calls()]

    def message_from(self, chat_id: int, text: str) -> None:
        """A user in private chat `chat_id` sends the bot `text`."""
        with self._arrived:
            update_id = self._next_update_id
            self._next_update_id += 1
            chat = {"id": chat_id, "type": "private", "first_name": "Test"}
            message = {"message_id": update_id, "date": 0, "chat": chat, "text": text}
            self._updates.append({"update_id": update_id, "message": message})
            self._arrived.notify_all()

    def pending_updates(self) -> int:
        """Updates the bot has not confirmed (by asking from a later offset)."""
        with self._lock:
            return len(self._updates)

    def _get_updates(self, request: Request) -> Response:
        form = request.form.to_dict()
        offset = int(form.get("offset") or 0)
        deadline = time.monotonic() + float(form.get("timeout") or 0)
        with self._arrived:
            self._updates = [u for u in self._updates if int(str(u["update_id"])) >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._arrived.wait(deadline - time.monotonic())
            result = list(self._updates)
        body = json.dumps({"ok": True, "result": result})
        return Response(body, 200, mimetype="application/json")

    def _send_message(self, request: Request) -> Response:
        form = request.form.to_dict()
        chat_id = form.get("chat_id", "")
        with self._lock:
            self._calls.append((time.monotonic(), form))
            queued = next((a for a in self._answers if a[0] in (None, chat_id)), None)
            if queued:
                self._answers.remove(queued)
        if self._handler is not None and queued is None:
            return self._handler(request)
        status, body = (queued[1], queued[2]) if queued else self._ok(form)
        return Response(json.dumps(body), status, mimetype="application/json")

    @staticmethod
    def _ok(form: dict[str, str]) -> tuple[int, dict[str, object]]:
        problem = check_telegram_html(form.get("text", ""))
        if problem:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
        chat = {"id": int(form["chat_id"]), "type": "private"}
        message = {"message_id": 1, "date": 0, "chat": chat, "text": form.get("text", "")}
        return 200, {"ok": True, "result": message}


def always(status: int, body: dict[str, object]) -> Handler:
    """A handler for answer_with: this answer, to every call."""
    return lambda request: Response(json.dumps(body), status, mimetype="application/json")
