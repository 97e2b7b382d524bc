"""A platform that knows a return by several ids (Happy Returns: its express code, its
return id, the retailer's RMA id) pairs an ERP record carrying any of them; the one it
carries is the case's, and an ERP record under none of them is still unlinked."""

from __future__ import annotations

from returns_console.domain.model import ErpView, PlatformView
from returns_console.domain.pairing import pair


def _erp(ref: str) -> ErpView:
    return ErpView(system="erp", return_ref=ref)


def test_an_erp_record_under_an_alias_pairs_with_its_return() -> None:
    views = [PlatformView(system="p", return_ref="HRVPBGPR", aliases=("RMA20240101A",)),
             PlatformView(system="p", return_ref="HRAAAAAA")]
    erp = {"rma20240101a": _erp("RMA20240101A"), "HRAAAAAA": _erp("HRAAAAAA"),
           "OTHER-1": _erp("OTHER-1")}
    paired = pair(views, erp, "erp", platform_system="p")
    by_ref = {c.return_ref: c for c in paired.cases}
    assert by_ref["HRVPBGPR"].erp.return_ref == "RMA20240101A"
    assert by_ref["HRAAAAAA"].erp.return_ref == "HRAAAAAA"
    assert by_ref["OTHER-1"].unlinked and not by_ref["HRVPBGPR"].unlinked


def test_the_main_reference_wins_over_an_alias() -> None:
    views = [PlatformView(system="p", return_ref="HRVPBGPR", aliases=("RMA-1",))]
    erp = {"HRVPBGPR": _erp("HRVPBGPR"), "RMA-1": _erp("RMA-1")}
    paired = pair(views, erp, "erp", platform_system="p")
    by_ref = {c.return_ref: c for c in paired.cases}
    assert by_ref["HRVPBGPR"].erp.return_ref == "HRVPBGPR"
    assert by_ref["RMA-1"].unlinked  # a second document under the other id shows
