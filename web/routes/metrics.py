"""``GET /metrics``: the server's metrics in the Prometheus text format.

With ``--metrics-token`` a scraper must send ``Authorization: Bearer <token>``
(anything else gets 401). Without one, only this machine may scrape: a client
on a loopback address that came through no proxy (403 for others). The image
listens on every interface, and its metrics (notes loaded, connections, errors)
are no business of the open internet; a Prometheus elsewhere sends a token.
"""

from __future__ import annotations

import hmac
import ipaddress

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
    if not token and not from_this_machine(request):
        return Response(
            "without --metrics-token, /metrics answers only this machine (loopback); set "
            "COLLAB_METRICS_TOKEN to scrape it from elsewhere\n",
            status_code=403,
            media_type="text/plain",
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


FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def from_this_machine(request: Request) -> bool:
    """Whether the client is on a loopback address and no proxy passed the request on.

    uvicorn replaces the client's address with ``X-Forwarded-For``'s when the peer
    is trusted (``FORWARDED_ALLOW_IPS``, 127.0.0.1 by default); a request that names
    any forwarded client came from elsewhere, whatever address it names.
    """
    if request.client is None or any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False  # a Unix socket or a name: not known to be this machine
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
