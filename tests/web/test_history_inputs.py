"""What a client sends to the history routes: version ids, names, restore authors."""

from __future__ import annotations

from support.http import http
from support.live import LiveServer

ODD_IDS = ["²", "١٢", "0x1", "-1", "2147483648", "12345678901", "999999999999999999", "9" * 40]


def test_a_version_id_that_is_not_a_small_ascii_number_is_404(live: LiveServer) -> None:
    note = live.post_note("draft")
    base = f"{live.url}/api/notes/{note['id']}/versions"
    for raw in ODD_IDS:
        for answer in (
            http.get(f"{base}/{raw}"),
            http.post(f"{base}/{raw}/restore"),
            http.get(base, params={"before": raw}),
        ):
            assert answer.status_code == 404, (raw, answer.status_code, answer.text)
            assert answer.json() == {"detail": "this note has no such version"}
