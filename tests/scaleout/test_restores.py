"""A restore made on one process, seen from another: its notice, and the typing it spares."""

from __future__ import annotations

import httpx
from scaleout.helpers import Nodes, new_note
from support.yclient import YClient

PLAN = "# Plan\n\n"


async def test_a_restore_on_one_process_tells_and_spares_the_peers_of_another(
    nodes: Nodes,
) -> None:
    """Cat and Ben write on process B; Cat closes her tab; Ana opens the note on process A
    (her room loads after their typing) and restores the version before it. Cat's line
    and the line Ben is typing stay, Ana's own new line goes; Ben, on B, hears the
    notice after the restore's edit, and then the undo's."""
    a, b = nodes(2)
    token = new_note(b)
    async with httpx.AsyncClient(base_url=a.url, timeout=20) as api:
        versions = f"/api/notes/{token}/versions"
        async with YClient.connect(b.ws_url, token) as ben:
            await ben.subscribe_notices()
            await ben.set_presence({"user": {"name": "Ben"}})
            ben.append(PLAN)
            await ben.wait_saved()
            named = await api.post(versions, json={"name": "the plan"})
            assert named.status_code == 201, named.text
            async with YClient.connect(b.ws_url, token) as cat:
                await cat.set_presence({"user": {"name": "Cat"}})
                cat.append("Cat wrote this line\n")
                await cat.wait_saved()
            await ben.wait_text(PLAN + "Cat wrote this line\n")
            ben.append("Ben is typ")
            await ben.wait_saved()
            async with YClient.connect(a.ws_url, token) as ana:
                await ana.subscribe_notices()
                await ana.set_presence({"user": {"name": "Ana"}})
                ana.insert(0, "Ana's draft\n")
                await ana.wait_saved()
                await ben.wait_until(lambda c: str(c.text).startswith("Ana's draft"))
                url = f"{versions}/{named.json()['id']}/restore"
                restored = await api.post(url, json={"author": "Ana"})
                assert restored.status_code == 200, restored.text
                kept = PLAN + "Cat wrote this line\nBen is typ"
                assert restored.json()["note"]["content"] == kept
                await ben.wait_until(lambda c: any(n["kind"] == "restored" for n in c.notices()))
                assert ben.text_at_notice("restored") == kept  # it came after the edit
                [notice] = ben.notices()
                assert notice["by"] == "Ana" and notice["version"]["name"] == "the plan"
                assert notice["undo"] == restored.json()["undo"]
                await ana.wait_until(lambda c: [n["kind"] for n in c.notices()] == ["restored"])
                ben.append("ing on")  # he goes on typing: his sentence stays whole
                await ana.wait_text(kept + "ing on")
                undo = restored.json()["undo"]["id"]
                undone = await api.post(f"{versions}/{undo}/undo", json={"author": "Ana"})
                assert undone.status_code == 200, undone.text
                await ben.wait_until(lambda c: [n["kind"] for n in c.notices()][-1:] == ["undone"])
                assert ben.text_at_notice("undone") == "Ana's draft\n" + kept + "ing on"
