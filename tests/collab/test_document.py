"""A check vets stored updates (collab.document.first_problem): bytes in, a sentence out;
logged updates are applied in runs and pieces that make the same document (merged_runs)."""

from __future__ import annotations

import pycrdt

from collab.document import EMPTY_UPDATE, MERGE_BYTES, build, first_problem, merged_runs, text
from collab.yencoding.pieces import PIECE_STRUCTS


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


def find_and_replace(lines: int) -> tuple[bytes, bytes, str]:
    """A note of ``lines`` lines, and one update replacing "alpha" on each: (the note's
    update, the replacing update, the text after it)."""
    original = "".join(f"line {n} holds the word alpha among others\n" for n in range(lines))
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(0, original)
    first, state = doc.get_update(), doc.get_state()
    with doc.transaction():
        for at in reversed([n for n in range(len(original)) if original.startswith("alpha", n)]):
            del text[at : at + 5]
            text.insert(at, "omega")
    return first, doc.get_update(state), original.replace("alpha", "omega")


def test_merged_runs_merge_small_updates_and_cut_a_large_one_into_pieces() -> None:
    first, replacing, expected = find_and_replace(400)
    keystrokes = typed_log(*"abcdefghij")[:-1]  # ten appends, no deletion
    updates = [first, *keystrokes, replacing, *typed_log(*"klm")[:-1]]
    assert len(first) > MERGE_BYTES and len(replacing) > MERGE_BYTES

    runs = merged_runs(updates)

    large = [run for run in runs if len(run) > MERGE_BYTES]
    assert len(runs) > 400 // PIECE_STRUCTS, "the large updates were cut into pieces"
    assert large == [first], "only a single piece may be larger (the note's one insert)"
    one_by_one: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    for update in updates:
        one_by_one.apply_update(update)
    in_runs = build(runs)
    assert text(in_runs) == text(one_by_one)
    assert expected in text(in_runs) and "alpha" not in text(in_runs)


def test_updates_go_in_runs_of_at_most_a_hundred_and_4_kb() -> None:
    updates = typed_log(*(f"{n} " for n in range(250)))[:-1]  # about 30 bytes each
    assert len(merged_runs(updates)) == 3
    pasted = typed_log(*(f"{n:0200} " for n in range(250)))[:-1]  # over 200 bytes each
    assert sum(len(update) for update in pasted) > 10 * MERGE_BYTES
    runs = merged_runs(pasted)
    assert 10 <= len(runs) < 30 and all(len(run) <= MERGE_BYTES for run in runs)
    assert text(build(runs)) == text(build(pasted))
    assert len(merged_runs([EMPTY_UPDATE] * 100)) == 1  # 2 bytes each: the count bounds
    assert len(merged_runs([EMPTY_UPDATE] * 101)) == 2
