"""Khaos's credit note exports as the second source (docs/khaos-mapping.md): a CSV dropped
into `exports_dir` is read with the column map, credit notes join the returns Khaos took by
AssociatedRef, and the credited stage is checked; without a fresh export it is said."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from returns_console.connectors.base import InboxEvent
from returns_console.domain.codes import Code, Stage, StageStatus
from returns_console.systems.khaos import fold
from returns_console.systems.khaos.options import KhaosOptions

AT = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


def _served(*refs: str) -> list[InboxEvent]:
    offers = [{"ref": r, "order_ref": "#1", "created": AT.isoformat(), "process": False,
               "lines": [{"sku": "MUG1", "code": "MUG1", "quantity": "1", "reason": "6"}]}
              for r in refs]
    body = fold.served_record(AT, offers, [], "", "c1", {}, {})
    return [InboxEvent(system="khaos", delivery_id="CReturnDownload:c1",
                       topic="CReturnDownload", received_at=AT, body=body)]


def _options(folder: Path, **more: object) -> KhaosOptions:
    return KhaosOptions(urn="WEB", exports_dir=str(folder), **more)


def test_an_exported_credit_credits_the_return_it_names(tmp_path: Path) -> None:
    (tmp_path / "credits.csv").write_text(
        "Credit Note Code,Associated Ref,Issue Date,Gross,VAT\n"
        "CN0001,R-1,21/11/2026,120.00,20.00\n"
        "CN0002,R-1,22/11/2026,\"1,000.00\",0\n"
        "CN0003,R-9,22/11/2026,10.00,0\n")
    batch = fold.records(_served("R-1", "R-2"), _options(tmp_path))
    one, two = batch.views["R-1"], batch.views["R-2"]
    assert [n.number for n in one.credit_notes] == ["CN0001", "CN0002"]
    assert one.credit_notes[0].amounts.items == 100 and one.credit_notes[0].amounts.tax == 20
    assert one.credit_notes[1].amounts.total == 1000
    assert one.stage(Stage.CREDITED).status is StageStatus.DONE
    assert two.stage(Stage.CREDITED).status is StageStatus.NOT_STARTED  # checked, not seen
    assert batch.views["R-9"].credit_notes[0].number == "CN0003"  # a return never served
    hidden = batch.master.unobservable
    assert Code.CREDIT_NOTE_MISSING not in hidden and Code.CREDIT_NOTE_DUPLICATE not in hidden
    assert Code.ERP_RECORD_UNLINKED not in hidden
    assert Code.REFUND_AMOUNT_MISMATCH in hidden and Code.TAX_MISMATCH in hidden
    assert not any("credit" in gap for gap in batch.gaps)


def test_the_column_map_is_the_profiles(tmp_path: Path) -> None:
    (tmp_path / "report.csv").write_text("Doc;Ref\n")  # not this map's headers
    (tmp_path / "mine.csv").write_text("Doc,Web Ref,Total\nK-1,R-1,5.00\n")
    batch = fold.records(_served("R-1"), _options(
        tmp_path, credit_number_columns="Doc", credit_link_columns="Web Ref",
        credit_gross_columns="Total"))
    assert batch.views["R-1"].credit_notes[0].number == "K-1"
    assert any("report.csv" in n and "no credit number" in n for n in batch.notices)


def test_without_an_export_or_with_an_old_one_credits_are_said(tmp_path: Path) -> None:
    none = fold.records(_served("R-1"), _options(tmp_path))
    assert Code.CREDIT_NOTE_MISSING in none.master.unobservable
    assert any("no Khaos credit note export" in g for g in none.gaps)
    old = tmp_path / "old.csv"
    old.write_text("Credit Note Code,Associated Ref\nCN1,R-1\n")
    stamp = time.time() - 3 * 24 * 3600
    os.utime(old, (stamp, stamp))
    stale = fold.records(_served("R-1"), _options(tmp_path))
    assert Code.CREDIT_NOTE_MISSING not in stale.master.unobservable
    assert any("h old" in g for g in stale.gaps)


def test_a_bad_row_is_said_and_the_rest_read(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("Credit Note Code,Associated Ref,Issue Date,Gross\n"
                                    "CN1,R-1,31/02/2026,5\nCN2,R-1,01/11/2026,abc\n"
                                    "CN3,,01/11/2026,5\nCN4,R-1,1900-01-01,7\n")
    batch = fold.records(_served("R-1"), _options(tmp_path))
    assert [n.number for n in batch.views["R-1"].credit_notes] == ["CN4"]
    assert batch.views["R-1"].credit_notes[0].posting_date is None
    assert len([n for n in batch.notices if "export" in n]) == 3


def test_a_file_that_is_not_csv_is_said_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "huge.csv").write_text("Credit Note Code,Associated Ref\n\"" + "x" * 200_000
                                       + "\",R-1\n")
    batch = fold.records(_served("R-1"), _options(tmp_path))
    assert any("huge.csv" in n for n in batch.notices)


def test_a_folder_that_cannot_be_read_is_a_gap(tmp_path: Path) -> None:
    batch = fold.records(_served("R-1"), _options(tmp_path / "missing"))
    assert any("cannot be read" in g for g in batch.gaps)
    assert Code.CREDIT_NOTE_MISSING in batch.master.unobservable
