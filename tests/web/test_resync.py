"""An honest client that is merely ahead of the server is resynced, never closed as malformed."""

from __future__ import annotations

import asyncio

import pycrdt
from support.live import LiveServer
from support.yclient import YClient
from websockets.asyncio.client import connect

from collab import protocol


async def test_a_keystroke_sent_before_the_offline_edits_it_follows_gets_a_resync(
    live: LiveServer,
) -> None:
    note = live.post_note("shared ")
    doc: pycrdt.Doc = pycrdt.Doc()
    async with YClient.connect(live.ws_url, note["id"]) as first_visit:
        doc.apply_update(first_visit.doc.get_update())
    text = doc.get("content", type=pycrdt.Text)
    text.insert(len(text), "offline ")  # typed while disconnected
    before = doc.get_state()
    text.insert(len(text), "k")  # typed the moment the socket reopened: follows "offline "
    keystroke = doc.get_update(before)

    async with connect(f"{live.ws_url}/{note['id']}") as ws:
        # What a stock client does: the keystroke goes out at once; the offline edits
        # only in answer to the server's step 1.
        await ws.send(protocol.encode_sync_update(keystroke))
        await ws.send(protocol.encode_sync_step1(doc.get_state()))
        while live.get_note(note["id"]).json()["content"] != "shared offline k":
            message = protocol.parse_message(await asyncio.wait_for(ws.recv(), 5))
            if isinstance(message, protocol.SyncStep1):  # answered as a stock client does
                await ws.send(protocol.encode_sync_step2(doc.get_update(message.state_vector)))
        await ws.send(protocol.encode_query_awareness())  # still open: answered, not closed
        assert protocol.parse_message(await asyncio.wait_for(ws.recv(), 5))
        assert ws.close_code is None
