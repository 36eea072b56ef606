"""A check vets stored updates (collab.document.first_problem): bytes in, a sentence out."""

from __future__ import annotations

import pycrdt

from collab.document import first_problem


def typed_log(*chunks: str) -> list[bytes]:
    """The updates a client sends while typing the chunks, one update per chunk."""
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for chunk in chunks:
        text.insert(len(text), chunk)
    del text[0:2]
    return updates


def labelled(updates: list[bytes]) -> list[tuple[str, bytes]]:
    return [(f"update {n}", update) for n, update in enumerate(updates, 1)]


def test_a_typed_log_loads_whole() -> None:
    assert first_problem(labelled(typed_log("ab", "cd", "ef"))) is None


def test_a_checkpoint_then_the_log_after_it_loads_whole() -> None:
    log = typed_log("ab", "cd", "ef", "gh")
    checkpoint = pycrdt.merge_updates(*log[:2])
    assert first_problem([("checkpoint", checkpoint), *labelled(log)[2:]]) is None


def test_a_checkpoint_larger_than_any_message_may_be_is_fine() -> None:
    big = "x" * (9 * 1024 * 1024)  # beyond the 8 MiB a single message may carry
    assert first_problem([("checkpoint", typed_log(big)[0])]) is None


def test_garbage_is_named_by_its_label_with_the_reason() -> None:
    updates = [*labelled(typed_log("ab")), ("update 7", b"\x05\xff\xff\xff\xff")]
    problem = first_problem(updates)
    assert problem is not None and problem.startswith("update 7: ")
    assert len(problem) > len("update 7: ")


def test_an_update_whose_predecessor_is_missing_would_be_left_pending() -> None:
    log = labelled(typed_log("ab", "cd", "ef"))
    problem = first_problem([log[0], log[2]])  # update 2 is lost
    assert problem is not None and problem.startswith("update 3: ")
    assert "pending" in problem


def test_a_deletion_of_text_that_was_never_stored_is_reported() -> None:
    _insert, delete = labelled(typed_log("ab"))
    problem = first_problem([delete])  # the insert it deletes from is lost
    assert problem is not None and problem.startswith("update 2: ") and "pending" in problem
