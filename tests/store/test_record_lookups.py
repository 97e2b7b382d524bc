"""The record index's look-ups a connector asks of one side's records (store/records.py
`StoredSide`): by tag, by a range of tags, and which records a read brought back unchanged."""

from __future__ import annotations

import sqlite3

from returns_console.store.records import RecordIndex

RAW = {
    "s:a:1": {"n": 1, "day": "2026-11-01", "amount": 1.5, "name": "Zoë"},
    "s:a:2": {"n": 2, "day": "2026-11-02", "amount": 2.0, "name": None},
    "s:b:3": {"n": 3, "day": "2026-11-03", "amount": -0.1, "name": "x"},
}


def _tags(ref: str, record: dict) -> set[str]:
    return {f"day:{record['day']}", "odd" if record["n"] % 2 else "even"}


def _side():
    index = RecordIndex(sqlite3.connect(":memory:"))
    index.replace_side("p", "erp", RAW, _tags, writer="w", tagger="t")
    index.replace_side("q", "erp", {"s:a:9": {"n": 9, "day": "2026-11-01", "amount": 0,
                                              "name": ""}}, _tags, writer="w", tagger="t")
    return index.side("p", "erp", [])


def test_the_refs_filed_under_tags_of_this_profile_and_side_only() -> None:
    side = _side()
    assert side.tagged_refs(["odd"]) == {"s:a:1", "s:b:3"}
    assert side.tagged_refs(["odd", "even"]) == set(RAW)
    assert side.tagged_refs(["none"]) == set()


def test_a_range_of_tags_includes_its_low_end_not_its_high_end() -> None:
    side = _side()
    got = side.tagged_between("day:", "day:2026-11-03")
    assert [ref for _, ref, _ in got] == ["s:a:1", "s:a:2"]  # in the batch's order
    assert got[0][2] == RAW["s:a:1"]
    assert [ref for _, ref, _ in side.tagged_between("day:2026-11-02", "day:\uffff")] == [
        "s:a:2", "s:b:3"]


def test_records_read_again_as_stored_are_unchanged_and_others_are_not() -> None:
    side = _side()
    again = {ref: dict(record) for ref, record in RAW.items()}
    again["s:a:2"]["amount"] = 2.5
    again["s:c:4"] = {"n": 4, "day": "2026-11-04", "amount": 0, "name": ""}
    assert side.unchanged(again) == {"s:a:1", "s:b:3"}
    assert side.unchanged({}) == set()


def test_a_full_read_places_the_records_in_its_order_whatever_changed() -> None:
    """A side written again keeps the new read's order: the same records in another order,
    one changed, one new, one gone; and the same read again leaves it as it is."""
    from returns_console.store.records import ordered

    index = RecordIndex(sqlite3.connect(":memory:"))

    def write(raw: dict) -> list[str]:
        index.replace_side("p", "erp", raw, _tags, writer="w", tagger="t")
        return [ref for ref, _ in ordered(index.conn, "p", "erp")]

    assert write(RAW) == list(RAW)
    assert write(RAW) == list(RAW)
    turned = dict(reversed(RAW.items()))
    assert write(turned) == list(turned)
    changed = {**turned, "s:a:2": {**RAW["s:a:2"], "n": 20}}
    assert write(changed) == list(changed)
    grown = {"s:c:4": {"n": 4, "day": "2026-11-04", "amount": 0, "name": ""}, **changed}
    assert write(grown) == list(grown)
    del grown["s:b:3"]
    assert write(grown) == list(grown)
    side = index.side("p", "erp", [])
    assert side.get(["s:a:2"])["s:a:2"]["n"] == 20


def test_a_side_is_compared_with_what_is_stored_under_the_write_lock(tmp_path,
                                                                     monkeypatch) -> None:
    """What `replace_side` compares the read with (the stored digests, their order) is
    read under the write lock: a refresh cannot commit between the comparison and the
    writes it decides (it would be left half laid over)."""
    path = tmp_path / "index.sqlite3"
    index = RecordIndex(sqlite3.connect(path))
    index.replace_side("p", "erp", RAW, _tags, writer="w", tagger="t")
    other = sqlite3.connect(path, timeout=0)
    tried: list[str] = []
    real = RecordIndex._in_order

    def in_order(self, profile, side, refs):
        try:
            with other:
                other.execute("delete from records where ref = 's:a:2'")
            tried.append("written")
        except sqlite3.OperationalError as exc:
            tried.append(str(exc))
        return real(self, profile, side, refs)

    monkeypatch.setattr(RecordIndex, "_in_order", in_order)
    index.replace_side("p", "erp", RAW, _tags, writer="w2", tagger="t")
    assert tried == ["database is locked"]
    assert index.side("p", "erp", []).get(list(RAW)).keys() == RAW.keys()
