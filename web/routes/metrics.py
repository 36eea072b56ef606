"""``GET /metrics``: the server's metrics in the Prometheus text format.

Open by default; with ``--metrics-token`` a scraper must send
``Authorization: Bearer <token>`` (anything else gets 401).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client.exposition import choose_encoder

from web.deps import ServicesDep

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Every metric of this server (``async``: it reads the rooms on the event loop)."""
    token = services.settings.metrics_token
    if token and not bearer_matches(request.headers.get("authorization"), token):
        return Response(
            "a metrics token is required: Authorization: Bearer <token>\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    # The format the scraper asks for (Accept), as prometheus_client's own servers choose it.
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(services.metrics.registry), headers={"Content-Type": content_type})


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>``, compared in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())
