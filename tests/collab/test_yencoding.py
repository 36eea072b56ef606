"""The Yjs update pre-parser: real pycrdt updates pass, hostile bytes are refused fast."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeAlias

import pycrdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collab import yencoding
from collab.yencoding import (
    DEFAULT_LIMITS,
    InvalidUpdate,
    Limits,
    TypeDepthTracker,
    UpdateInfo,
    check_applicable,
    check_state_vector,
    check_update,
    decode_state_vector,
)
from collab.yencoding.keystroke import check_keystroke

AnyDoc: TypeAlias = pycrdt.Doc[Any]


def new_doc() -> AnyDoc:
    return pycrdt.Doc()


# -- hand encoding -------------------------------------------------------------


def varuint(value: int) -> bytes:
    """lib0 varuint: little-endian base-128."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varstring(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return varuint(len(raw)) + raw


def root_item(
    ref: int, content: bytes, root: bytes | str = "r", key: bytes | str | None = None
) -> bytes:
    """An item whose parent is the root type ``root``."""
    info = ref | (0x20 if key is not None else 0)
    sub = varstring(key) if key is not None else b""
    return bytes([info]) + varuint(1) + varstring(root) + sub + content


def child_item(ref: int, content: bytes, parent: tuple[int, int], key: str = "k") -> bytes:
    """A map entry ``key`` inside the type item ``parent``."""
    return (
        bytes([ref | 0x20, 0]) + varuint(parent[0]) + varuint(parent[1]) + varstring(key) + content
    )


def update(*structs: bytes, client: int = 1, clock: int = 0, delete_set: bytes = b"\x00") -> bytes:
    """One client block holding ``structs``, then a delete set."""
    head = varuint(1) + varuint(len(structs)) + varuint(client) + varuint(clock)
    return head + b"".join(structs) + delete_set


def any_content(*values: bytes) -> bytes:
    """ContentAny (ref 8) body."""
    return varuint(len(values)) + b"".join(values)


NULL = bytes([126])
SUBDOCS_OK = Limits(allow_subdocuments=True)
TYPE_MAP = varuint(1)


def refused(data: bytes, match: str, check: Callable[[bytes], object] = check_update) -> None:
    with pytest.raises(InvalidUpdate, match=match):
        check(data)


# -- real updates from pycrdt ------------------------------------------------------


def _text_doc() -> AnyDoc:
    doc = new_doc()
    text = doc.get("t", type=pycrdt.Text)
    text.insert(0, "hello world, grüße 日本 😀")
    text.format(0, 5, {"bold": True})
    text.insert(6, "brave ", attrs={"italic": True, "href": {"url": "https://x"}})
    text.insert_embed(3, {"image": "cat.png", "size": [1, 2]})
    return doc


def _map_doc() -> AnyDoc:
    doc = new_doc()
    notes = doc.get("m", type=pycrdt.Map)
    notes["title"] = "Groceries"
    notes["count"] = 3
    notes["big"] = 2**52
    notes["negative"] = -7.25
    notes["flags"] = {"done": False, "pinned": True, "nothing": None}
    notes["nested"] = {"list": [1, [2, [3, {"deep": b"\x00\xff"}]]], "e": {}}
    notes["title"] = "Groceries, edited"
    return doc


def _array_doc() -> AnyDoc:
    doc = new_doc()
    items = doc.get("a", type=pycrdt.Array)
    items.extend([1, 2.5, -3, None, True, False, "s", b"bytes", [1, [2]], {"k": {"j": None}}])
    items.append(float("inf"))
    items.insert(0, "first")
    return doc


def _nested_types_doc() -> AnyDoc:
    doc = new_doc()
    root = doc.get("root", type=pycrdt.Map)
    root["child"] = pycrdt.Map({"grandchild": pycrdt.Array([pycrdt.Text("leaf")])})
    root["list"] = pycrdt.Array([pycrdt.Map({"a": 1}), pycrdt.Map({"b": 2})])
    return doc


def _xml_doc() -> AnyDoc:
    doc = new_doc()
    fragment = doc.get("x", type=pycrdt.XmlFragment)
    paragraph = pycrdt.XmlElement("p", {"class": "lead"}, [pycrdt.XmlText("Hello")])
    fragment.children.append(paragraph)
    fragment.children.append(pycrdt.XmlText("tail"))
    words = paragraph.children[0]
    assert isinstance(words, pycrdt.XmlText)
    words.insert(5, " world", attrs={"b": True})
    return doc


def _subdoc_doc() -> AnyDoc:
    doc = new_doc()
    doc.get("m", type=pycrdt.Map)["sub"] = new_doc()
    doc.get("a", type=pycrdt.Array).append(new_doc())
    return doc


def _deletions_doc() -> AnyDoc:
    doc = new_doc()
    text = doc.get("t", type=pycrdt.Text)
    text += "abcdefgh"
    del text[2:4]
    items = doc.get("a", type=pycrdt.Array)
    items.extend([1, 2, 3])
    del items[1]
    notes = doc.get("m", type=pycrdt.Map)
    notes["gone"] = pycrdt.Map({"inner": 1})
    del notes["gone"]
    return doc


def _two_client_doc() -> AnyDoc:
    alice, bob = new_doc(), new_doc()
    alice.get("t", type=pycrdt.Text).insert(0, "hello")
    bob.apply_update(alice.get_update())
    bob.get("t", type=pycrdt.Text).insert(2, "XY")
    alice.get("t", type=pycrdt.Text).insert(2, "Z")
    alice.apply_update(bob.get_update())
    return alice


def _incremental_updates() -> list[bytes]:
    doc = new_doc()
    text = doc.get("t", type=pycrdt.Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for char in "typing":
        text += char
    text.insert(0, "» ", attrs={"bold": True})
    del text[1]
    doc.get("m", type=pycrdt.Map)["k"] = 1
    doc.get("m", type=pycrdt.Map)["k"] = pycrdt.Map({"replaced": True})
    return updates


def _gap_merge() -> bytes:
    doc = new_doc()
    text = doc.get("t", type=pycrdt.Text)
    text += "abcde"
    first = doc.get_update()
    text += "fgh"
    middle = doc.get_state()
    text += "ijk"
    return pycrdt.merge_updates(first, doc.get_update(middle))


def real_updates() -> dict[str, bytes]:
    """One update of every content kind pycrdt produces, by name."""
    docs = {
        "text": _text_doc(),
        "map": _map_doc(),
        "array": _array_doc(),
        "nested types": _nested_types_doc(),
        "xml": _xml_doc(),
        "deletions": _deletions_doc(),
        "two clients": _two_client_doc(),
    }
    found = {name: doc.get_update() for name, doc in docs.items()}
    found.update({f"keystroke {i}": u for i, u in enumerate(_incremental_updates())})
    found["merged with a gap"] = _gap_merge()
    return found


REAL = real_updates()
SUBDOCS = _subdoc_doc().get_update()


# -- real updates are accepted -------------------------------------------------


@pytest.mark.parametrize("name", sorted(REAL))
def test_every_kind_of_real_pycrdt_update_is_accepted(name: str) -> None:
    info = check_update(REAL[name])
    assert isinstance(info, UpdateInfo)
    assert not info.is_empty


def test_subdocuments_are_refused_unless_allowed() -> None:
    refused(SUBDOCS, "subdocument content \\(ref 9\\) is not accepted at byte")
    info = check_update(SUBDOCS, Limits(allow_subdocuments=True))
    assert info.struct_count == 2


def test_the_empty_update_is_accepted_and_reported_empty() -> None:
    info = check_update(b"\x00\x00")
    assert info.is_empty
    assert info == UpdateInfo(0, 0, (), ())


def test_an_empty_docs_update_is_the_empty_update() -> None:
    assert check_update(new_doc().get_update()).is_empty


def test_a_single_insert_is_one_struct_with_no_deletions() -> None:
    doc = new_doc()
    doc.get("t", type=pycrdt.Text).insert(0, "hello")
    info = check_update(doc.get_update())
    assert (info.struct_count, info.delete_range_count, info.type_items) == (1, 0, ())


def test_formatted_insert_counts_two_format_markers_around_the_text() -> None:
    doc = new_doc()
    doc.get("t", type=pycrdt.Text).insert(0, "hi", attrs={"bold": True})
    assert check_update(doc.get_update()).struct_count == 3


def test_a_map_with_three_keys_is_three_structs() -> None:
    doc = new_doc()
    doc.get("m", type=pycrdt.Map).update({"a": 1, "b": [1, {"c": None}], "d": b"x"})
    assert check_update(doc.get_update()).struct_count == 3


def test_one_array_extend_is_one_any_struct() -> None:
    doc = new_doc()
    doc.get("a", type=pycrdt.Array).extend([1, 2.5, None, True, b"\x01", [1, [2]], {"k": {}}])
    assert check_update(doc.get_update()).struct_count == 1


def test_a_deletion_only_update_counts_its_delete_ranges() -> None:
    doc = new_doc()
    text = doc.get("t", type=pycrdt.Text)
    text += "abcdef"
    before = doc.get_state()
    del text[1]
    del text[3]
    info = check_update(doc.get_update(before))
    assert (info.struct_count, info.delete_range_count) == (0, 2)


def test_nested_shared_types_are_listed_with_their_parents() -> None:
    info = check_update(_nested_types_doc().get_update())
    (child, grandchild, leaf, array, first, second) = [item for item, _ in info.type_items]
    assert [parent for _, parent in info.type_items] == [
        "root",  # root["child"]
        child,  # child["grandchild"]
        grandchild,  # the Text inside the grandchild Array
        "root",  # root["list"]
        array,  # first Map in the list
        None,  # second Map: parent inherited from its origin ...
    ]
    assert info.type_siblings == (None, None, None, None, None, first)  # ... the first Map
    assert leaf != second


def test_xml_elements_and_texts_are_shared_type_items() -> None:
    info = check_update(_xml_doc().get_update())
    parents = [parent for _item_id, parent in info.type_items]
    assert parents[0] == "x"
    assert len(info.type_items) == 3  # <p>, its text, the tail text


def test_state_vectors_of_real_documents_are_accepted() -> None:
    for doc in (new_doc(), _text_doc(), _two_client_doc(), _nested_types_doc()):
        check_state_vector(doc.get_state())


def test_the_empty_state_vector_is_accepted() -> None:
    check_state_vector(b"\x00")


def test_string_clock_length_counts_utf16_units() -> None:
    doc = new_doc()
    doc.get("t", type=pycrdt.Text).insert(0, "a😀日")
    assert check_update(doc.get_update()).clocks == ((doc.client_id, 0, 4),)
    emoji = root_item(4, varstring("😀"))  # two UTF-16 units
    check_update(update(emoji, clock=2**32 - 3))
    refused(update(emoji, clock=2**32 - 2), "passes 2\\*\\*32")


@pytest.mark.slow
def test_a_megabyte_of_small_edits_checks_in_well_under_a_second() -> None:
    client = 2**52 + 12345  # an 8-byte varuint, like pycrdt's client ids
    typing = [root_item(4, varstring("a"))]
    typing += [bytes([0x84]) + varuint(client) + varuint(i) + varstring("b") for i in range(70_000)]
    deletes = varuint(1) + varuint(client) + varuint(20_000)
    deletes += b"".join(varuint(3 * i) + varuint(1) for i in range(20_000))
    data = update(*typing, client=client, delete_set=deletes)
    assert len(data) > 1_000_000
    # The check's own CPU time (a loaded machine's wait for a core is not the check's cost).
    start = time.thread_time()
    info = check_update(data, DEFAULT_LIMITS.for_stored())  # a stored note may hold such runs
    assert time.thread_time() - start < 1.0
    assert (info.struct_count, info.delete_range_count) == (70_001, 20_000)
    with pytest.raises(InvalidUpdate, match="unmerged structs"):
        check_update(data)  # a message may not: yrs integrates the run in quadratic time


# -- hostile input is refused quickly --------------------------------------------


def assert_fast(check: Callable[[], object], seconds: float = 0.25) -> None:
    start = time.thread_time()  # CPU time: a loaded machine's wait for a core is not the check's
    with pytest.raises(InvalidUpdate):
        check()
    assert time.thread_time() - start < seconds


def test_thirty_thousand_nested_any_arrays_are_refused_at_the_depth_limit() -> None:
    bomb = update(root_item(8, any_content(bytes([117, 1]) * 30_000 + NULL)))
    assert 60_000 < len(bomb) < 61_000
    refused(bomb, "nesting depth 33 exceeds the limit of 32 at byte")
    assert_fast(lambda: check_update(bomb))


def test_deeply_nested_any_objects_are_refused() -> None:
    level = bytes([118, 1]) + varstring("k")
    refused(update(root_item(8, any_content(level * 5_000 + NULL))), "nesting depth 33")


def test_nesting_up_to_the_limit_is_accepted() -> None:
    nested = bytes([117, 1]) * DEFAULT_LIMITS.max_depth + NULL
    check_update(update(root_item(8, any_content(nested))))


def test_a_custom_depth_limit_is_honoured() -> None:
    nested = update(root_item(8, any_content(bytes([117, 1]) * 3 + NULL)))
    check_update(nested, Limits(max_depth=3))
    refused_with = Limits(max_depth=2)
    with pytest.raises(InvalidUpdate, match="nesting depth 3 exceeds the limit of 2"):
        check_update(nested, refused_with)


def test_deep_nesting_inside_subdocument_options_is_refused() -> None:
    options = bytes([117, 1]) * 1_000 + NULL
    with pytest.raises(InvalidUpdate, match="nesting depth"):
        check_update(update(root_item(9, varstring("guid") + options)), SUBDOCS_OK)


def test_a_ten_byte_state_vector_claiming_half_a_billion_clients_is_refused() -> None:
    claim = varuint(2**29 - 1) + b"\x01" * 5
    assert len(claim) == 10
    refused(claim, "state vector entry count 536870911", check_state_vector)
    assert_fast(lambda: check_state_vector(claim))


def test_an_update_claiming_two_hundred_million_clients_is_refused() -> None:
    refused(varuint(2**28) + b"\x01" * 8, "client count 268435456 needs at least")


@pytest.mark.parametrize(
    ("what", "data"),
    [
        ("structs", varuint(1) + varuint(1_000_000) + b"\x01\x00\x04"),
        ("delete ranges", b"\x00\x01\x01" + varuint(10_000)),
        ("Any values", update(root_item(8, varuint(5_000)))),
        ("Any array items", update(root_item(8, any_content(bytes([117]) + varuint(9_999))))),
        ("Any object entries", update(root_item(8, any_content(bytes([118]) + varuint(99))))),
    ],
)
def test_counts_larger_than_the_remaining_bytes_are_refused(what: str, data: bytes) -> None:
    refused(data, "needs at least")


@pytest.mark.parametrize(
    ("what", "payload"),
    [
        ("string content", update(root_item(4, varuint(1_000) + b"abc"))),
        ("binary content", update(root_item(3, varuint(77) + b"\x00"))),
        ("root name", update(bytes([4, 1]) + varuint(50) + b"r")),
        ("Any byte string", update(root_item(8, any_content(bytes([116]) + varuint(9))))),
    ],
)
def test_lengths_larger_than_the_remaining_bytes_are_refused(what: str, payload: bytes) -> None:
    refused(payload, "claims .* bytes but only")


def test_an_eleven_byte_varuint_is_refused() -> None:
    refused(b"\xff" * 10 + b"\x01", "varuint longer than 8 bytes at byte 0")


def test_a_300_kilobyte_varuint_is_refused_at_once() -> None:
    huge = b"\x01" + b"\xff" * 300_000 + b"\x01"
    refused(huge, "varuint longer than 8 bytes at byte 1")
    assert_fast(lambda: check_update(huge), seconds=0.05)


def test_a_varuint_beyond_lib0s_safe_integers_is_refused() -> None:
    refused(update(root_item(4, varstring("a")), client=2**53), "not below 2\\*\\*53")
    check_update(update(root_item(4, varstring("a")), client=2**53 - 1))


def test_clocks_and_lengths_beyond_32_bits_are_refused() -> None:
    refused(update(root_item(4, varstring("a")), clock=2**32), "start clock .* 32 bits")
    refused(update(bytes([0]) + varuint(2**32)), "GC/Skip length .* 32 bits")
    refused(update(root_item(1, varuint(2**33))), "deleted length")


def test_a_client_clock_running_past_two_to_the_32_is_refused() -> None:
    gc = bytes([0]) + varuint(2**31)
    refused(update(gc, gc), "clock of client 1 passes 2\\*\\*32")


def test_a_delete_range_running_past_two_to_the_32_is_refused() -> None:
    ranges = b"\x01\x05\x01" + varuint(2**32 - 2) + varuint(2)
    refused(b"\x00" + ranges, "delete range passes 2\\*\\*32")


@pytest.mark.parametrize("name", sorted(REAL))
def test_every_prefix_of_a_real_update_is_refused(name: str) -> None:
    data = REAL[name]
    for end in range(len(data)):
        with pytest.raises(InvalidUpdate):
            check_update(data[:end])


def test_every_prefix_of_an_allowed_subdocument_update_is_refused() -> None:
    for end in range(len(SUBDOCS)):
        with pytest.raises(InvalidUpdate):
            check_update(SUBDOCS[:end], SUBDOCS_OK)


def test_every_prefix_of_a_real_state_vector_is_refused() -> None:
    vector = _two_client_doc().get_state()
    for end in range(len(vector)):
        with pytest.raises(InvalidUpdate):
            check_state_vector(vector[:end])


def test_trailing_bytes_are_refused() -> None:
    refused(REAL["text"] + b"\x00", "1 trailing bytes after the end at byte")
    refused(b"\x00\x00garbage", "7 trailing bytes")
    refused(new_doc().get_state() + b"\x00", "trailing", check_state_vector)


@pytest.mark.parametrize(
    "data",
    [
        update(root_item(4, varstring(b"ok\xff"))),
        update(root_item(4, varstring(b"\xed\xa0\x80"))),  # an encoded surrogate
        update(bytes([4, 1]) + varstring(b"\xc3") + varstring("text")),
        update(root_item(8, any_content(NULL), key=b"\x80")),
        update(root_item(8, any_content(bytes([119]) + varstring(b"\xc0\x80")))),
        update(root_item(8, any_content(bytes([118, 1]) + varstring(b"\xfe") + NULL))),
        update(root_item(6, varstring("bold") + varstring(b"tru\xe9"))),
        update(root_item(7, varuint(3) + varstring(b"p\xff"))),
        update(root_item(9, varstring(b"\xff") + bytes([118, 0]))),
    ],
)
def test_invalid_utf8_anywhere_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidUpdate, match="not valid UTF-8 at byte"):
        check_update(data, SUBDOCS_OK)


@pytest.mark.parametrize("ref", [11, 12, 15, 16, 20, 31])
def test_unknown_content_refs_are_refused(ref: int) -> None:
    refused(update(root_item(ref, b"\x01")), f"unknown struct ref {ref}")


def test_json_content_is_refused_because_yrs_reads_it_differently() -> None:
    refused(update(root_item(2, varuint(1) + varstring("1"))), "JSON content")


@pytest.mark.parametrize("type_ref", [5, 7, 8, 9, 15, 16, 200])
def test_shared_type_refs_yrs_and_yjs_disagree_on_are_refused(type_ref: int) -> None:
    refused(update(root_item(7, varuint(type_ref))), f"unsupported shared type ref {type_ref}")


def test_gc_and_skip_structs_with_flag_bits_are_refused() -> None:
    refused(update(bytes([0x80]) + varuint(3)), "GC/Skip info byte 0x80 has flags")
    refused(update(bytes([0x4A]) + varuint(3)), "GC/Skip info byte 0x4a has flags")


@pytest.mark.parametrize("tag", [0, 1, 100, 115, 128, 255])
def test_unknown_any_tags_are_refused(tag: int) -> None:
    refused(update(root_item(8, any_content(bytes([tag])))), f"unknown Any tag {tag}")


def test_zero_length_structs_are_refused() -> None:
    refused(update(root_item(4, varstring(""))), "string content is empty")
    refused(update(root_item(8, varuint(0))), "Any content is empty")
    refused(update(bytes([0, 0])), "GC/Skip length is zero")
    refused(update(root_item(1, varuint(0))), "deleted length is zero")


def test_a_parent_flag_other_than_zero_or_one_is_refused() -> None:
    refused(update(bytes([4, 2]) + varstring("text")), "parent flag 2 is not 0 or 1")


@pytest.mark.parametrize(
    ("what", "header"),
    [
        ("origin", bytes([0x84]) + varuint(1) + varuint(5)),
        ("right origin", bytes([0x44]) + varuint(1) + varuint(3)),
        ("parent", bytes([0x04, 0]) + varuint(1) + varuint(3)),
    ],
)
def test_an_item_referring_to_its_own_clients_future_is_refused(what: str, header: bytes) -> None:
    # yrs segfaults on a forward self-reference that a later GC struct overlaps.
    refused(
        update(header + varstring("bc"), clock=3), f"{what} 1:[35] of item 1:3 does not precede"
    )
    check_update(update(header[:-1] + varuint(2) + varstring("bc"), clock=3))


def test_a_client_appearing_twice_is_refused() -> None:
    block = varuint(1) + varuint(7) + varuint(0) + root_item(4, varstring("a"))
    refused(varuint(2) + block + block + b"\x00", "client 7 appears twice")
    refused(b"\x00\x02\x07\x01\x00\x01\x07\x01\x05\x01", "client 7 appears twice")
    refused(b"\x02\x07\x01\x07\x02", "client 7 appears twice", check_state_vector)


def test_strings_over_the_size_limit_are_refused() -> None:
    data = update(root_item(4, varstring("x" * 100)))
    check_update(data, Limits(max_string_bytes=100))
    with pytest.raises(InvalidUpdate, match="string content of 100 bytes exceeds the limit of 99"):
        check_update(data, Limits(max_string_bytes=99))


def test_input_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidUpdate, match="input of 2 bytes exceeds the limit of 1"):
        check_update(b"\x00\x00", Limits(max_update_bytes=1))


def test_a_signed_integer_any_is_bounded_like_a_varuint() -> None:
    def integer(encoded: bytes) -> bytes:
        return update(root_item(8, any_content(bytes([125]) + encoded)))

    check_update(integer(bytes([0xC5, 0x01])))  # -(5 + 64) in two bytes
    refused(integer(b"\xff" * 9 + b"\x00"), "varint longer than 8 bytes")
    refused(integer(b"\xbf" + b"\xff" * 6 + b"\x7f"), "varint 36028797018963967 is not below")


# -- updates yrs would have to leave pending ----------------------------------------


def test_a_state_vector_decodes_to_each_clients_next_clock() -> None:
    doc = _two_client_doc()
    clocks = decode_state_vector(doc.get_state())
    assert sorted(clocks.values()) == [2, 6]  # "XY" from one client, "hello" + "Z" from the other
    assert decode_state_vector(b"\x00") == {}


def test_an_update_continuing_the_document_is_applicable() -> None:
    doc = _text_doc()
    state = doc.get_state()
    doc.get("t", type=pycrdt.Text).insert(4, "!")
    check_applicable(check_update(doc.get_update(state)), decode_state_vector(state))


def test_every_real_update_is_applicable_to_an_empty_document() -> None:
    for name, data in REAL.items():
        if name.startswith("keystroke") or name == "merged with a gap":
            continue
        check_applicable(check_update(data), {})


def test_an_update_starting_past_the_documents_clock_is_not_applicable() -> None:
    later = check_update(update(root_item(4, varstring("x")), client=3, clock=6))
    with pytest.raises(InvalidUpdate, match="starts client 3 at clock 6 but the document has 2;"):
        check_applicable(later, {3: 2})
    check_applicable(later, {3: 6})


def test_a_skipped_range_must_already_be_in_the_document() -> None:
    gapped = check_update(REAL["merged with a gap"])  # "abcde", skip 3, "ijk"
    ((client, start, end),) = gapped.clocks
    assert (start, end) == (0, 11)
    assert gapped.holes == ((client, 8),)
    with pytest.raises(InvalidUpdate, match=f"skips clocks of client {client} up to 7"):
        check_applicable(gapped, {client: 0})
    check_applicable(gapped, {client: 8}, allow_overlap=True)


def test_re_sending_old_clocks_with_new_ones_is_refused_unless_allowed() -> None:
    resend = check_update(update(root_item(4, varstring("abc")), client=3, clock=0))
    with pytest.raises(InvalidUpdate, match="re-sends clocks 0-1 of client 3 along with new"):
        check_applicable(resend, {3: 2})
    check_applicable(resend, {3: 2}, allow_overlap=True)


def test_re_sending_only_clocks_the_document_has_is_applicable() -> None:
    doc = _text_doc()
    check_applicable(check_update(doc.get_update()), decode_state_vector(doc.get_state()))


def test_references_to_missing_items_are_not_applicable() -> None:
    after_unknown = bytes([0x84]) + varuint(2) + varuint(4) + varstring("x")
    info = check_update(update(after_unknown))
    with pytest.raises(InvalidUpdate, match="refers to 2:4, which neither"):
        check_applicable(info, {2: 4})
    check_applicable(info, {2: 5})


def test_references_into_the_same_update_are_applicable() -> None:
    first = varuint(1) + varuint(2) + varuint(0) + root_item(4, varstring("abc"))
    second = varuint(1) + varuint(1) + varuint(0)
    second += bytes([0x84]) + varuint(2) + varuint(2) + varstring("d")
    check_applicable(check_update(varuint(2) + first + second + b"\x00"), {})


def test_deleting_unknown_clocks_is_not_applicable() -> None:
    deletion = check_update(b"\x00\x01\x05\x01\x03\x02")  # client 5, clocks 3..4
    with pytest.raises(InvalidUpdate, match="refers to 5:4"):
        check_applicable(deletion, {5: 4})
    check_applicable(deletion, {5: 5})


def test_the_overlapping_pending_pair_found_by_fuzzing_is_refused() -> None:
    # Applied in order to one pycrdt 0.14.13 document, these two well-formed
    # updates segfault the process (they only ever meet in yrs's pending set).
    gc_at_6 = bytes.fromhex("01010306000100")
    gc_then_deleted = bytes.fromhex("0102030100038103010300")
    doc = new_doc()
    for data in (gc_at_6, gc_then_deleted):
        info = check_update(data)
        with pytest.raises(InvalidUpdate, match="pending"):
            check_applicable(info, decode_state_vector(doc.get_state()))


# -- shared-type nesting across updates -------------------------------------------


def _nested_map_chain(levels: int) -> list[bytes]:
    """Updates that each nest one more Map inside the previous one."""
    doc = new_doc()
    current = doc.get("root", type=pycrdt.Map)
    updates: list[bytes] = []
    for _ in range(levels):
        before = doc.get_state()
        child: pycrdt.Map[object] = pycrdt.Map()
        current["child"] = child
        updates.append(doc.get_update(before))
        current = child
    return updates


def test_a_chain_of_nested_types_is_refused_beyond_the_type_depth_limit() -> None:
    tracker = TypeDepthTracker()
    chain = _nested_map_chain(DEFAULT_LIMITS.max_type_depth + 1)
    for depth, step in enumerate(chain[:-1], start=1):
        tracker.check(check_update(step))
        assert tracker.deepest == depth
    with pytest.raises(InvalidUpdate, match="would be nested 17 deep, beyond the limit of 16"):
        tracker.check(check_update(chain[-1]))
    assert tracker.deepest == 16
    assert len(tracker) == 16


def test_a_refused_update_records_nothing() -> None:
    tracker = TypeDepthTracker(Limits(max_type_depth=1))
    nested = check_update(_nested_types_doc().get_update())
    with pytest.raises(InvalidUpdate):
        tracker.check(nested)
    assert len(tracker) == 0


def test_one_update_holding_a_deep_chain_is_refused() -> None:
    doc = new_doc()
    value: object = 1
    for _ in range(20):
        value = pycrdt.Map({"child": value})
    doc.get("root", type=pycrdt.Map)["top"] = value
    with pytest.raises(InvalidUpdate, match="beyond the limit of 16"):
        TypeDepthTracker().check(check_update(doc.get_update()))


def test_types_following_a_sibling_type_take_its_depth() -> None:
    doc = new_doc()
    items = doc.get("list", type=pycrdt.Array)
    tracker = TypeDepthTracker()
    for _ in range(40):
        before = doc.get_state()
        items.append(pycrdt.Map({"n": 1}))
        tracker.check(check_update(doc.get_update(before)))
    assert tracker.deepest == 1
    assert len(tracker) == 40


def test_resending_known_state_does_not_raise_any_depth() -> None:
    tracker = TypeDepthTracker()
    state = check_update(_nested_types_doc().get_update())
    tracker.check(state)
    deepest = tracker.deepest
    for _ in range(30):
        tracker.check(state)
    assert tracker.deepest == deepest


def test_a_child_listed_before_its_parent_in_one_update_gets_the_right_depth() -> None:
    child = varuint(1) + varuint(2) + varuint(0) + child_item(7, TYPE_MAP, parent=(1, 0))
    parent = varuint(1) + varuint(1) + varuint(0) + root_item(7, TYPE_MAP)
    info = check_update(varuint(2) + child + parent + b"\x00")
    tracker = TypeDepthTracker()
    tracker.check(info)
    assert tracker.depth_of((1, 0)) == 1
    assert tracker.depth_of((2, 0)) == 2


def test_a_type_after_plain_content_is_bounded_by_the_deepest_known_type() -> None:
    tracker = TypeDepthTracker()
    tracker.check(check_update(update(root_item(7, TYPE_MAP), root_item(8, any_content(NULL)))))
    after_plain = bytes([0x87]) + varuint(1) + varuint(1) + TYPE_MAP
    tracker.check(check_update(update(after_plain, clock=2)))
    assert tracker.depth_of((1, 2)) == 2  # deepest known (1) + 1: the parent is unknown


def test_a_type_under_an_unknown_parent_is_bounded_by_the_deepest_known_type() -> None:
    tracker = TypeDepthTracker(Limits(max_type_depth=3))
    for clock in range(3):
        orphan = child_item(7, TYPE_MAP, parent=(99, clock))
        tracker.check(check_update(update(orphan, clock=clock)))
    assert tracker.deepest == 3
    with pytest.raises(InvalidUpdate, match="nested 4 deep"):
        tracker.check(check_update(update(child_item(7, TYPE_MAP, parent=(99, 9)), clock=3)))


def test_a_parent_cycle_in_one_update_is_still_bounded() -> None:
    first = varuint(1) + varuint(1) + varuint(0) + child_item(7, TYPE_MAP, parent=(2, 0))
    second = varuint(1) + varuint(2) + varuint(0) + child_item(7, TYPE_MAP, parent=(1, 0))
    tracker = TypeDepthTracker()
    tracker.check(check_update(varuint(2) + first + second + b"\x00"))
    assert tracker.deepest <= 3


# -- properties ------------------------------------------------------------------


def apply_without_crashing(data: bytes) -> None:
    """Give checked bytes to pycrdt; any exception is fine, a crash is not."""
    with contextlib.suppress(BaseException):  # yrs panics surface as BaseException
        new_doc().apply_update(data)


def accepted_or_refused(data: bytes) -> UpdateInfo | None:
    try:
        return check_update(data)
    except InvalidUpdate:
        return None


@st.composite
def mutated_real_updates(draw: st.DrawFn) -> bytes:
    data = bytearray(REAL[draw(st.sampled_from(sorted(REAL)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "set"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 4))]
        elif data:
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_are_either_refused_or_safely_applied(data: bytes) -> None:
    if accepted_or_refused(data) is not None:
        apply_without_crashing(data)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_real_updates())
def test_mutated_real_updates_are_either_refused_or_safely_applied(data: bytes) -> None:
    if accepted_or_refused(data) is not None:
        apply_without_crashing(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_random_state_vectors_are_either_refused_or_safely_used(data: bytes) -> None:
    try:
        check_state_vector(data)
    except InvalidUpdate:
        return
    with contextlib.suppress(BaseException):  # yrs panics surface as BaseException
        _two_client_doc().get_update(data)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_real_updates(), min_size=2, max_size=6))
def test_sequences_of_applicable_updates_never_crash_one_document(updates: list[bytes]) -> None:
    doc = new_doc()
    for data in updates:
        info = accepted_or_refused(data)
        if info is None:
            continue
        try:
            check_applicable(info, decode_state_vector(doc.get_state()))
        except InvalidUpdate:
            continue
        with contextlib.suppress(BaseException):  # yrs panics surface as BaseException
            doc.apply_update(data)


# -- the keystroke path ------------------------------------------------------------
#
# check_update reads one typed character with a regular expression instead of the
# general reader. Both must agree on every input: same UpdateInfo, or the fast path
# declines (None) and the general reader decides.


def general_or_refused(data: bytes, limits: Limits = DEFAULT_LIMITS) -> UpdateInfo | None:
    try:
        return yencoding.read_update(data, limits)
    except InvalidUpdate:
        return None


def typed(doc: AnyDoc, at: int, text: str) -> bytes:
    """The update pycrdt makes when ``text`` is typed at ``at``."""
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    doc.get("t", type=pycrdt.Text).insert(at, text)
    doc.unobserve(subscription)
    (update,) = updates
    return update


@pytest.mark.parametrize("client_id", [5, 300, 2**31 + 7, 2**53 - 1])
def test_typed_characters_take_the_keystroke_path_and_agree_with_the_reader(
    client_id: int,
) -> None:
    doc = pycrdt.Doc(client_id=client_id)
    other = pycrdt.Doc(client_id=client_id ^ 1)
    first = typed(doc, 0, "a")  # the first character has no neighbours: the general path
    assert check_keystroke(first, DEFAULT_LIMITS) is None
    # (not after a non-ASCII character: pycrdt 0.14 then names the new item itself
    # as its right origin, which the reader refuses as a forward self-reference)
    updates = [typed(doc, 1, "b"), typed(doc, 0, "c"), typed(doc, 0, "é"), typed(doc, 0, "🙂")]
    other.apply_update(doc.get_update())
    updates += [typed(other, 4, "x"), typed(other, 0, "y"), typed(other, 7, "zz")]
    shapes = set()
    for update in updates:
        fast = check_keystroke(update, DEFAULT_LIMITS)
        assert fast is not None, update.hex()
        assert fast == yencoding.read_update(update, DEFAULT_LIMITS)
        ((client, clock, _end),) = fast.clocks
        shapes.add(update[2 + len(varuint(client)) + len(varuint(clock))])
    # origin only (at the end), right origin only (at the start), both (between)
    assert shapes == {0x84, 0x44, 0xC4}


def test_the_keystroke_path_declines_what_the_reader_must_judge() -> None:
    client = varuint(9)

    def stroke(clock: int, origin: bytes, text: bytes, tail: bytes = b"\x00") -> bytes:
        return b"\x01\x01" + client + varuint(clock) + b"\x84" + origin + varstring(text) + tail

    declined = {
        "forward self-reference": stroke(3, client + varuint(3), b"a"),
        "invalid UTF-8": stroke(3, varuint(1) + varuint(0), b"\xff"),
        "empty string": stroke(3, varuint(1) + varuint(0), b""),
        "trailing byte": stroke(3, varuint(1) + varuint(0), b"a", b"\x00\x00"),
        "clock past 2**32": stroke(2**32 - 1, varuint(1) + varuint(0), b"ab"),
        "origin client past 2**53": stroke(3, varuint(2**53) + varuint(0), b"a"),
    }
    for why, data in declined.items():
        assert check_keystroke(data, DEFAULT_LIMITS) is None, why
        with pytest.raises(InvalidUpdate):
            check_update(data)
    small = Limits(max_string_bytes=1)
    assert check_keystroke(stroke(3, varuint(1) + varuint(0), b"ab"), small) is None


_varuint_sizes = st.one_of(
    st.integers(0, 0x7F), st.integers(0, 2**21), st.integers(0, 2**35), st.integers(0, 2**56 - 1)
)


@st.composite
def keystroke_like(draw: st.DrawFn) -> bytes:
    """Bytes shaped like a keystroke, often valid, with the odd value out of range."""
    client = draw(_varuint_sizes)
    info = draw(st.sampled_from([0x84, 0xC4, 0x44]))
    targets = b"".join(
        varuint(draw(st.one_of(st.just(client), _varuint_sizes))) + varuint(draw(_varuint_sizes))
        for _ in range(2 if info == 0xC4 else 1)
    )
    text = draw(st.one_of(st.text(max_size=3).map(str.encode), st.binary(max_size=4)))
    data = bytearray(
        b"\x01\x01"
        + varuint(client)
        + varuint(draw(_varuint_sizes))
        + bytes([info])
        + targets
        + varstring(text)
        + b"\x00"
    )
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(keystroke_like())
def test_the_keystroke_path_never_disagrees_with_the_reader(data: bytes) -> None:
    fast = check_keystroke(data, DEFAULT_LIMITS)
    if fast is not None:
        assert fast == general_or_refused(data)
