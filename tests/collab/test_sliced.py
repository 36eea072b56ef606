"""A large update read a piece at a time and applied piece by piece (collab/sliced.py)."""

from __future__ import annotations

import random

import pycrdt

from collab.document import TEXT_NAME
from collab.replica import Change, Replica
from collab.sliced import Applier
from collab.yencoding import DEFAULT_LIMITS, check_update
from collab.yencoding.pieces import PIECE_STRUCTS, PieceReader, join


def edited(base: pycrdt.Doc, edits: int, seed: int) -> bytes:
    """An update of ``edits`` scattered inserts and deletions made on a copy of ``base``."""
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.apply_update(base.get_update())
    text, rng = doc.get(TEXT_NAME, type=pycrdt.Text), random.Random(seed)
    state = doc.get_state()
    with doc.transaction():
        for i in range(edits):
            at = rng.randrange(len(text))
            text.insert(at, "xy")
            if i % 3 == 0:
                del text[at : at + 1]
    return doc.get_update(state)


def base_doc() -> pycrdt.Doc:
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.get(TEXT_NAME, type=pycrdt.Text).insert(0, "the words of a note\n" * 200)
    return doc


def read_all(update: bytes) -> PieceReader:
    reader = PieceReader(update, DEFAULT_LIMITS)
    while not reader.step():
        pass
    return reader


def test_each_piece_is_an_update_the_decoder_describes_alike() -> None:
    update = edited(base_doc(), 300, seed=1)
    reader = read_all(update)
    whole = check_update(update, DEFAULT_LIMITS)
    assert sum(p.size for p in reader.pieces if not p.deletes) == whole.struct_count
    assert sum(p.size for p in reader.pieces if p.deletes) == whole.delete_range_count
    assert max(p.size for p in reader.pieces) <= max(PIECE_STRUCTS, 256)
    for piece in reader.pieces:
        data, info = join(update, [piece])
        assert check_update(data, DEFAULT_LIMITS) == info
    run = [p for p in reader.pieces if not p.deletes][:4]
    data, info = join(update, run)
    whole = check_update(data, DEFAULT_LIMITS)
    assert (whole.clocks, dict(whole.references), dict(whole.places)) == (
        info.clocks,
        dict(info.references),
        dict(info.places),
    )


def apply_in_pieces(replica: Replica, update: bytes, seed: int) -> list[Change]:
    """Read and apply ``update`` as the room does, in randomly cut slices."""
    reader, applier = PieceReader(update, DEFAULT_LIMITS), Applier(update, replica)
    rng, changes = random.Random(seed), []
    while True:
        while not reader.done and rng.random() < 0.7:
            reader.step()
            applier.add(reader.pieces)
            reader.pieces.clear()
        deadline = rng.choice([0.0, float("inf")])  # one piece, or all that can go
        if applier.apply(deadline, changes.append, last=reader.done) and reader.done:
            return changes


def test_pieces_applied_in_any_slicing_make_the_same_document() -> None:
    base = base_doc()
    update = edited(base, 300, seed=2)
    expected: pycrdt.Doc = pycrdt.Doc()
    expected.apply_update(base.get_update())
    expected.apply_update(update)
    for seed in range(5):
        doc: pycrdt.Doc = pycrdt.Doc()
        doc.apply_update(base.get_update())
        replica = Replica(doc)
        changes = apply_in_pieces(replica, update, seed)
        assert str(replica.text) == str(expected.get(TEXT_NAME, type=pycrdt.Text))
        assert len(changes) > 1  # each piece an edit of its own


def test_a_client_read_first_may_refer_to_one_read_later() -> None:
    # Yjs writes clients by descending id: client 9's edits, read first, follow client 2's.
    base = base_doc()
    two: pycrdt.Doc = pycrdt.Doc(client_id=2)
    two.apply_update(base.get_update())
    two_text = two.get(TEXT_NAME, type=pycrdt.Text)
    for i in range(100):
        two_text.insert(i * 7, "2")
    nine: pycrdt.Doc = pycrdt.Doc(client_id=9)
    nine.apply_update(two.get_update())
    nine_text = nine.get(TEXT_NAME, type=pycrdt.Text)
    for i in range(100):
        nine_text.insert(i * 5 + 1, "9")
    update = nine.get_update(base.get_state())
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.apply_update(base.get_update())
    replica = Replica(doc)
    apply_in_pieces(replica, update, seed=3)
    assert str(replica.text) == str(nine_text)
