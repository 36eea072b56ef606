"""The replica's checked applies: keystrokes take a short path that must check as much."""

from __future__ import annotations

import pycrdt
import pytest

from collab.document import TEXT_NAME
from collab.errors import MalformedMessage
from collab.replica import Replica
from collab.yencoding import Limits, StaleUpdate, check_update


class Typist:
    """A client's own document: each edit returns the update a Yjs client would send."""

    def __init__(self, client_id: int) -> None:
        self.doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc(client_id=client_id)
        self.text = self.doc.get(TEXT_NAME, type=pycrdt.Text)

    def catch_up(self, replica: Replica) -> None:
        self.doc.apply_update(replica.missing_from(self.doc.get_state()))

    def insert(self, index: int, chunk: str) -> bytes:
        before = self.doc.get_state()
        self.text.insert(index, chunk)
        return self.doc.get_update(before)


def apply(replica: Replica, update: bytes, limits: Limits):  # type: ignore[no-untyped-def]
    return replica.apply(update, check_update(update, limits))


def test_a_keystroke_is_its_own_delta_and_counts_its_characters() -> None:
    replica, ana = Replica(pycrdt.Doc()), Typist(1)
    assert apply(replica, ana.insert(0, "a"), Limits()) is not None
    keystroke = ana.insert(1, "é")
    change = apply(replica, keystroke, Limits())
    assert change is not None
    assert (change.delta, change.added, change.removed) == (keystroke, 1, 0)
    assert str(replica.text) == "aé"
    assert apply(replica, keystroke, Limits()) is None  # a re-send changes nothing


def test_keystrokes_piling_up_at_one_place_are_refused_past_the_limit() -> None:
    limits = Limits(max_inserts_at_one_place=10)
    replica, ana, ben = Replica(pycrdt.Doc(), limits), Typist(1), Typist(2)
    apply(replica, ana.insert(0, "x"), limits)
    ben.catch_up(replica)
    for _ in range(10):  # each typed right after Ana's "x": all at one place
        apply(replica, ben.insert(1, "b"), limits)
    with pytest.raises(MalformedMessage, match="one place"):
        apply(replica, ben.insert(1, "b"), limits)
    assert str(replica.text) == "x" + "b" * 10


def test_typing_on_after_ones_own_character_is_not_counted_at_its_place() -> None:
    """Only one item can follow its author's previous one at a place: it is left out."""
    limits = Limits(max_inserts_at_one_place=10)
    replica, ana = Replica(pycrdt.Doc(), limits), Typist(1)
    apply(replica, ana.insert(0, "x"), limits)  # at the start of the text: counted
    for i in range(1, 100):
        apply(replica, ana.insert(i, "y"), limits)  # each after her own previous one
    assert replica.places.most() == 1
    assert str(replica.text) == "x" + "y" * 99
    apply(replica, ana.insert(0, "z"), limits)  # at the start again: counted
    assert replica.places.most() == 2
    apply(replica, ana.insert(1, "w"), limits)  # right after "z", her previous: left out
    assert replica.places.most() == 2
    assert str(replica.text) == "zwx" + "y" * 99


def test_a_keystroke_of_a_client_past_the_notes_limit_is_refused() -> None:
    limits = Limits(max_note_clients=2)
    replica = Replica(pycrdt.Doc(), limits)
    for client in (1, 2):
        apply(replica, Typist(client).insert(0, "k"), limits)
    with pytest.raises(MalformedMessage, match="at most 2"):
        apply(replica, Typist(3).insert(0, "k"), limits)


def test_a_keystroke_after_text_the_document_lacks_is_not_applied_but_asked_again() -> None:
    replica, ana, ben = Replica(pycrdt.Doc()), Typist(1), Typist(2)
    apply(replica, ben.insert(0, "b"), Limits())  # Ben is known: his keystrokes go short
    ben.doc.apply_update(ana.insert(0, "never sent"))
    before = replica.state_vector()
    with pytest.raises(StaleUpdate, match="pending"):
        apply(replica, ben.insert(5, "!"), Limits())
    assert (str(replica.text), replica.state_vector()) == ("b", before)
