"""The HTML pages: the home page, a note's page and a space's page.

Every page is sent with a Content-Security-Policy that allows no inline script:
the pages load one script from ``/static`` and hand it data in ``data-*``
attributes. A note's page shows only what its token grants; a view page never
contains the edit token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from collab.document import title_of
from collab.peer import Role
from web.access import NoteAccess, find, find_space
from web.deps import ServicesDep
from web.housekeeping import restorable, retention
from web.rendering import first_paint, with_files
from web.settings import Settings

WEB_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)

# A Host header we are willing to repeat in the policy: a name or an IP literal, and a port.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def static_url(name: str) -> str:
    """A static file's URL with a hash of its content, so browsers never run a stale bundle."""
    path = STATIC_DIR / name
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        return f"/static/{name}"
    return f"/static/{name}?v={_content_hash(path, mtime_ns)}"


@lru_cache(maxsize=32)
def _content_hash(path: Path, _mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


templates.env.globals["static_url"] = static_url


def content_security_policy(request: Request, style_nonce: str) -> str:
    """The policy of every page.

    Scripts come only from this origin. ``<style>`` elements need the page's nonce
    (CodeMirror injects its base theme with it), while ``style`` attributes are
    allowed because y-codemirror.next colours remote cursors with them; the preview
    strips ``style`` attributes from notes. Websockets go to this host only. The
    one worker is the service worker that keeps pages for offline use (``/sw.js``).
    """
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if _HOST.fullmatch(host) else ""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{style_nonce}'",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data: https:",
            "font-src 'self'",
            f"connect-src 'self'{sockets}",
            "worker-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    cache: str = "no-cache",
) -> HTMLResponse:
    """A page with its security headers. Links in notes must not leak the page's
    URL (it holds the note's token), hence ``no-referrer``."""
    nonce = secrets.token_urlsafe(16)
    headers = {
        "Content-Security-Policy": content_security_policy(request, nonce),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": cache,
    }
    return templates.TemplateResponse(
        request,
        template,
        {**context, "style_nonce": nonce},
        status_code=status_code,
        headers=headers,
    )


@router.get("/sw.js")
async def service_worker() -> FileResponse:
    """The service worker, from the root so that its scope covers the note pages."""
    return FileResponse(
        STATIC_DIR / "sw.js",
        media_type="text/javascript",
        headers={
            "Cache-Control": "no-cache",
            # It fetches only pages and the bundle of this origin.
            "Content-Security-Policy": "default-src 'none'; connect-src 'self'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """Start a note, or reopen one this browser remembers (the list lives in the browser)."""
    return render(request, "home.html", {})


@router.get("/n/{token}", response_class=HTMLResponse)
async def note_page(request: Request, token: str, services: ServicesDep) -> HTMLResponse:
    """The editor (edit token) or the read-only view (view token) of a note."""
    access = await run_in_threadpool(find, services.engine, token)
    if access is None:
        deleted = await run_in_threadpool(find, services.engine, token, include_deleted=True)
        if deleted is not None:
            return _deleted_page(request, deleted, services.settings)
        return render(request, "not_found.html", {}, status_code=404)
    text = await services.rooms.read_text(access.note_id)
    title = title_of(text)
    # The page holds its token: keep it out of shared caches.
    context = note_context(access, title)
    context["retention_days"] = services.settings.deleted_note_retention_days
    # Readable before the websocket syncs, and with scripts blocked (web/rendering.py).
    paint = await run_in_threadpool(first_paint, text)
    # Sanitised by an allow-list; its files addressed through this page's own token.
    context["rendered"] = Markup(with_files(paint.html, access.token))
    context["rendered_cut"] = paint.cut
    context["description"] = paint.description
    return render(request, "note.html", context, cache="no-store")


@router.get("/s/{token}", response_class=HTMLResponse)
async def space_page(request: Request, token: str, services: ServicesDep) -> HTMLResponse:
    """A space's list of notes, live; its edit link adds "New note" and the share links."""
    access = await run_in_threadpool(find_space, services.engine, token)
    if access is None:
        gone = await run_in_threadpool(find_space, services.engine, token, include_deleted=True)
        if gone is not None and gone.space.deleted_at is not None:
            days = services.settings.deleted_note_retention_days
            editor = gone.role is Role.EDITOR
            context = {
                "what": "space",
                "api": "spaces",
                "token": token if editor else "",
                "restorable": editor and restorable(gone.space.deleted_at, days),
                "until": (gone.space.deleted_at + retention(days)).strftime("%Y-%m-%d %H:%M UTC"),
            }
            return render(request, "deleted.html", context, status_code=404, cache="no-store")
        return render(request, "not_found.html", {"what": "space"}, status_code=404)
    # Only these strings reach the template: a view page holds the view token alone.
    context = {
        "role": access.role.value,
        "token": access.token,
        "view_token": access.space.view_token,
        "name": access.space.name,
    }
    return render(request, "space.html", context, cache="no-store")


def _deleted_page(request: Request, access: NoteAccess, settings: Settings) -> HTMLResponse:
    """404, saying the note was deleted; the edit link may restore it within the window."""
    deleted_at = access.note.deleted_at
    assert deleted_at is not None
    days = settings.deleted_note_retention_days
    editor = access.role is Role.EDITOR
    context = {
        "role": access.role.value,
        "token": access.token if editor else "",
        "restorable": editor and restorable(deleted_at, days),
        "until": (deleted_at + retention(days)).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return render(request, "deleted.html", context, status_code=404, cache="no-store")


def note_context(access: NoteAccess, title: str) -> dict[str, Any]:
    """What a note's page may know: its own token, the view and comment tokens, the role,
    the title.

    Only these strings reach the template, never the note row, so the edit token
    cannot leak into a view page by accident.
    """
    return {
        "role": access.role.value,
        "token": access.token,
        "view_token": access.note.view_token,
        # The comment link is shown to those who hold it or more, never to a viewer.
        "comment_token": access.note.comment_token if access.role.may_comment else "",
        "title": title,
        "page_title": f"{title or 'Untitled note'} · collab-notes",
    }
