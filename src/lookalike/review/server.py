"""The review page's web server: a Starlette app served by uvicorn on 127.0.0.1 only.

Guarantees:
- it listens on the loopback address alone, on the port asked for or one the system picks;
- every request needs the session's random token: in the page's URL (`?token=`), in the cookie the page sets
  from it (HttpOnly, SameSite=Strict), or in the `X-Lookalike-Token` header; without it the answer is 401;
  a request that changes anything is a POST and must carry the token in the header (403 otherwise), which a
  page of another site cannot send; a Host that is not the loopback one is refused (DNS rebinding);
- no path from a request reaches the file system: images are asked for by group and member index and made by
  `Previews` from the scanned bytes only; static files come from the package's own folder; no CORS headers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import threading
import webbrowser
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from lookalike.review.previews import SIZES, Previews
from lookalike.review.session import ACTIONS, Review

HOST = "127.0.0.1"
_CHANGES = threading.Lock()  # plans, applies, undos and "not duplicates" never run side by side
STATIC = Path(__file__).parent / "static"
TOKEN_HEADER = "x-lookalike-token"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; object-src 'none'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def make_app(review: Review, token: str, previews: Previews) -> Starlette:
    handlers = _Handlers(review, token, previews)
    routes = [
        Route("/", handlers.index),
        Route("/api/groups", handlers.groups),
        Route("/api/groups/{index:int}", handlers.group),
        Route("/api/journals", handlers.journals),
        Route("/preview/{index:int}/{member:int}/{size:str}", handlers.preview),
        Route("/api/plan", _mutation(handlers.plan), methods=["POST"]),
        Route("/api/apply", _mutation(handlers.apply), methods=["POST"]),
        Route("/api/undo", _mutation(handlers.undo), methods=["POST"]),
        Route("/api/not-duplicates", _mutation(handlers.not_duplicates), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(_Guard, token=token)
    return app


def cookie_name(token: str) -> str:
    """One cookie per session, so two reviews open at once (on other ports of the same host) do not clash."""
    return "lookalike-" + hashlib.sha256(token.encode()).hexdigest()[:12]


class _Guard:
    """Token, method and Host checks before any route; security headers on every answer."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str) -> None:
        self.app, self.token, self.cookie = app, token, cookie_name(token)

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
            await send(message)

        await self.app(scope, receive, with_headers)

    def _refusal(self, request: Request) -> Response | None:
        if request.url.hostname not in (HOST, "localhost"):
            return PlainTextResponse("unknown host", 403)
        header = request.headers.get(TOKEN_HEADER, "")
        if request.method not in ("GET", "HEAD"):
            return None if self._is_token(header) else PlainTextResponse("token header required", 403)
        offered = (header, request.cookies.get(self.cookie, ""), request.query_params.get("token", ""))
        return None if any(self._is_token(value) for value in offered) else PlainTextResponse("token required", 401)

    def _is_token(self, value: str) -> bool:
        return hmac.compare_digest(value.encode(), self.token.encode())


class _Handlers:
    def __init__(self, review: Review, token: str, previews: Previews) -> None:
        self.review, self.token, self.previews = review, token, previews

    async def index(self, request: Request) -> Response:
        page = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{TOKEN}}", self.token)
        response = HTMLResponse(page)
        response.set_cookie(cookie_name(self.token), self.token, httponly=True, samesite="strict")
        return response

    async def groups(self, request: Request) -> Response:
        query = request.query_params
        try:
            offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", 50)), 500)
        except ValueError:
            return PlainTextResponse("offset and limit are numbers", 400)
        page = self.review.page(query.get("kind", ""), query.get("folder", ""), max(offset, 0), max(limit, 1))
        return JSONResponse({**page, "actions": [action.value for action in ACTIONS]})

    async def group(self, request: Request) -> Response:
        try:
            return JSONResponse(self.review.group(request.path_params["index"]))
        except KeyError:
            return PlainTextResponse("no such group", 404)

    async def journals(self, request: Request) -> Response:
        return JSONResponse(self.review.journal_list())

    def preview(self, request: Request) -> Response:
        """Sync on purpose: decoding runs in Starlette's thread pool, not on the event loop."""
        size = request.path_params["size"]
        try:
            member = self.review.member(request.path_params["index"], request.path_params["member"])
        except KeyError:
            member = None
        found = member and size in SIZES and self.previews.get(member["path"], member["content_hash"], size)
        if not found:
            return PlainTextResponse("no such image", 404)
        return FileResponse(found, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    def plan(self, request: Request, body: dict[str, Any]) -> Any:
        if "bulk" in body:
            bulk = body["bulk"]
            return self.review.plan_bulk(body["action"], bulk.get("keep", ""), bulk.get("kind", ""),
                                         bulk.get("folder", ""))
        marks = {int(index): mark for index, mark in body["marks"].items()}
        return self.review.plan_marked(body["action"], marks)

    def apply(self, request: Request, body: dict[str, Any]) -> Any:
        return self.review.apply(str(body["plan"]))

    def undo(self, request: Request, body: dict[str, Any]) -> Any:
        return self.review.undo(int(body["journal"]))

    def not_duplicates(self, request: Request, body: dict[str, Any]) -> Any:
        self.review.not_duplicates(int(body["group"]))
        return self.review.group(int(body["group"]))


def _mutation(handler: Callable[[Request, dict[str, Any]], Any]) -> Callable[[Request], Awaitable[Response]]:
    """A POST handler taking a JSON body, run in the thread pool (it touches files) one change at a time; bad
    input is a 400 with the reason, never a traceback."""

    def one_at_a_time(request: Request, body: dict[str, Any]) -> Any:
        with _CHANGES:
            return handler(request, body)

    async def endpoint(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            return JSONResponse(await run_in_threadpool(one_at_a_time, request, body))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return PlainTextResponse(str(error) or "bad request", 400)
    return endpoint


class ReviewServer:
    """The app on a loopback socket bound now, so the URL (with its port) is known before serving starts."""

    def __init__(self, review: Review, port: int = 0, previews: Previews | None = None) -> None:
        self.token = secrets.token_urlsafe(24)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((HOST, port))
        self.socket.listen(128)  # connections wait in the queue from now on, before uvicorn starts accepting
        self.port = self.socket.getsockname()[1]
        app = make_app(review, self.token, previews or Previews())
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def run(self, open_browser: bool = False) -> None:
        """Serve until interrupted (Ctrl+C), which ends in KeyboardInterrupt, as everywhere else."""
        if open_browser:
            threading.Timer(0.5, webbrowser.open, (self.url,)).start()
        self.server.run(sockets=[self.socket])
        # uvicorn takes Ctrl+C itself and, depending on when it comes, re-raises it or just returns
        raise KeyboardInterrupt

    @contextmanager
    def running(self) -> Iterator[ReviewServer]:
        """Serve in a background thread for the duration of the block (tests, benchmarks)."""
        thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        thread.start()
        while not self.server.started and thread.is_alive():
            threading.Event().wait(0.02)
        try:
            yield self
        finally:
            self.server.should_exit = True
            thread.join(timeout=10)
