"""The last-sync cache keeps exactly what was fetched, per profile and side."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from returns_console.connectors.base import ErpBatch, PlatformBatch
from returns_console.domain.codes import Side
from returns_console.domain.model import ErpView, PayloadProblem, PlatformView
from returns_console.domain.reference import ErpMaster, Item
from returns_console.store.cache import Cache
from tests.factories import healthy, parse

WHEN = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_round_trips_both_sides(tmp_path) -> None:
    case = parse(healthy())
    cache = Cache(tmp_path / "cache.sqlite3")
    problem = PayloadProblem(side=Side.PLATFORM, record_id="R-9", error="bad")
    cache.save_platform("p1", "swap", PlatformBatch(
        views=[case.platform], problems={"R-9": [problem]},
        raw={"swap:R-1": {"cost": Decimal("24.00")}}, fetched_at=WHEN, cursor="c1"))
    cache.save_erp("p1", "d365_bc", ErpBatch(
        views={"R-100001": case.erp}, master=ErpMaster(items={"X": Item(number="X")}),
        fetched_at=WHEN, cursor="c2", notices=["no returnReceipts"],
        unseen=ErpView(system="d365_bc")))
    cache.close()

    again = Cache(tmp_path / "cache.sqlite3")
    platform, erp = again.load_platform("p1"), again.load_erp("p1")
    assert platform.views == [case.platform]
    assert platform.problems == {"R-9": [problem]}
    assert platform.raw == {"swap:R-1": {"cost": "24.00"}}
    assert (platform.fetched_at, platform.cursor) == (WHEN, "c1")
    assert erp.views == {"R-100001": case.erp}
    assert erp.master.items["X"].number == "X"
    assert erp.notices == ["no returnReceipts"]
    assert erp.unseen == ErpView(system="d365_bc")
    assert again.load_platform("other") is None
    assert again.cursor("p1", "erp") == "c2"


def test_many_platform_records_are_kept_in_chunks_and_read_back_whole(tmp_path) -> None:
    """Raw records go in chunks (one JSON document of 30,000 records held the interpreter
    for a second as it was parsed); they come back whole, in order, and a smaller save
    leaves none of the larger one's chunks behind."""
    from returns_console.store.cache import RAW_CHUNK

    many = {f"swap:R-{n}": {"n": n} for n in range(RAW_CHUNK * 2 + 7)}
    cache = Cache(tmp_path / "c.sqlite3")
    cache.save_platform("p", "swap", PlatformBatch(raw=many, fetched_at=WHEN), views=False)
    chunks = cache.conn.execute(
        "select count(*) from pages where profile = 'p' and side = 'platform'").fetchone()[0]
    assert chunks == 3
    back = Cache(tmp_path / "c.sqlite3").load_platform("p")
    assert back is not None and back.raw == many and list(back.raw) == list(many)
    cache.save_platform("p", "swap", PlatformBatch(raw={"swap:R-1": {"n": 1}}), views=False)
    assert Cache(tmp_path / "c.sqlite3").load_platform("p").raw == {"swap:R-1": {"n": 1}}
    cache.save_platform("p", "swap", PlatformBatch(raw={}), views=False)
    assert Cache(tmp_path / "c.sqlite3").load_platform("p") is not None


def test_a_new_fetch_replaces_the_old(tmp_path) -> None:
    cache = Cache(tmp_path / "c.sqlite3")
    for ref in ("R-1", "R-2"):
        cache.save_platform("p", "swap", PlatformBatch(
            views=[PlatformView(system="swap", return_ref=ref)], fetched_at=WHEN))
    assert [v.return_ref for v in cache.load_platform("p").views] == ["R-2"]
    cache.save_erp("p", "d365_bc", ErpBatch(views={"R-2": ErpView(system="d365_bc")}))
    assert list(cache.load_erp("p").views) == ["R-2"]


def test_data_read_from_another_source_is_not_this_profiles_cache(tmp_path) -> None:
    """Change a profile's store, tenant, company or URL, and the old data is not served."""
    from returns_console.config import SystemSettings
    from returns_console.services.live import source_of

    cache = Cache(tmp_path / "c.sqlite3")
    swap = SystemSettings(system="swap", base_url="https://swap.example", options={"store": "a"})
    moved = SystemSettings(system="swap", base_url="https://swap.example", options={"store": "b"})
    retried = SystemSettings(system="swap", base_url="https://swap.example",
                             options={"store": "a", "retry_attempts": 2})
    cache.save_platform("p", "swap", PlatformBatch(raw={"swap:R-1": {}}, fetched_at=WHEN),
                        source=source_of(swap))
    assert cache.load_platform("p", source_of(swap)) is not None
    assert cache.load_platform("p", source_of(retried)) is not None
    assert cache.load_platform("p", source_of(moved)) is None
    assert cache.close() == []


def test_a_full_reads_pages_are_kept_as_sent_and_read_back_exactly(tmp_path) -> None:
    """The cache writes a full read's response bodies as they came (no record serialised
    again); the connector reads the records back from them, money as Decimal."""
    from returns_console.systems.d365_bc.connector import raw_from_pages

    body = b'{"value":[{"id":"a1","number":"TEE","unitPrice":12.30}],"@odata.nextLink":null}'
    batch = ErpBatch(raw={"d365_bc:items:a1": {"id": "a1"}}, pages=[("items", body)],
                     cursor="2026-11-21T10:00:00Z")
    cache = Cache(tmp_path / "cache.sqlite3")
    cache.save_erp("p", "d365_bc", batch, views=False)
    kept = cache.load_erp("p")
    assert kept.raw == {} and kept.pages == [("items", body)]
    assert raw_from_pages(kept.pages) == {
        "d365_bc:items:a1": {"id": "a1", "number": "TEE", "unitPrice": Decimal("12.30")}}
    cache.save_erp("p", "d365_bc", ErpBatch(raw={"d365_bc:items:b": {"id": "b"}}), views=False)
    again = cache.load_erp("p")  # a merged batch has no pages: its records are kept instead
    assert again.pages is None and again.raw == {"d365_bc:items:b": {"id": "b"}}
    cache.close()


def test_a_write_between_a_row_and_its_chunks_is_not_read_half(tmp_path, monkeypatch) -> None:
    """A cron `check` writing the same cache while the console reads it: the row and its
    chunks come from one snapshot, never an old row with newer chunks."""
    path = tmp_path / "c.sqlite3"
    old = {f"swap:R-{n}": {"n": n} for n in range(1200)}
    new = {f"swap:R-{n}": {"n": -n} for n in range(1200)}
    first = Cache(path)
    first.save_platform("p", "swap", PlatformBatch(raw=old, cursor="old"), views=False)
    first.close()
    reader = Cache(path)
    read_row = reader._get

    def row_then_a_write(*args):
        row = read_row(*args)
        writer = Cache(path)
        writer.save_platform("p", "swap", PlatformBatch(raw=new, cursor="new"), views=False)
        writer.close()
        return row

    monkeypatch.setattr(reader, "_get", row_then_a_write)
    got = reader.load_platform("p")
    assert got is not None and got.cursor == "old" and got.raw == old
    monkeypatch.undo()
    again = reader.load_platform("p")
    assert again is not None and again.cursor == "new" and again.raw == new
