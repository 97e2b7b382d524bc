from returns_console.domain.model import ErpView, PayloadProblem, PlatformView
from returns_console.domain.pairing import pair


def test_pairs_by_link_key_keeps_orphans_and_attaches_problems() -> None:
    views = [PlatformView(system="swap", return_ref="R-1"),
             PlatformView(system="swap", return_ref="r-2 ")]
    erp = {"r-1": ErpView(system="d365_bc", return_ref="r-1"),
           "R-9": ErpView(system="d365_bc", return_ref="R-9")}
    problem = PayloadProblem(side="platform", error="bad")
    paired = pair(views, erp, "d365_bc", {"R-2": [problem]})
    assert [c.erp.return_ref for c in paired.cases] == ["r-1", None, "R-9"]
    assert paired.cases[1].erp.system == "d365_bc"
    assert paired.cases[1].problems == (problem,)
    assert [o.return_ref for o in paired.orphans] == ["R-9"]
    orphan = paired.cases[2]
    assert orphan.unlinked and orphan.return_ref == "R-9" and orphan.problems == ()


def test_an_unreadable_erp_record_linking_to_no_return_still_becomes_a_case() -> None:
    problem = PayloadProblem(side="erp", record_id="PCM0002", error="status: bad value")
    paired = pair([PlatformView(system="swap", return_ref="R-1")], {}, "d365_bc",
                  {"PCM0002": [problem]}, platform_system="swap")
    assert [c.return_ref for c in paired.cases] == ["R-1", "PCM0002"]
    assert paired.cases[1].problems == (problem,)
    assert paired.cases[1].platform.system == "swap"


def test_a_document_that_is_not_a_return_document_is_never_an_unlinked_return() -> None:
    """Issue 9.5: on a tenant without return orders every open web sales order carrying an
    external document number was ERP_RECORD_UNLINKED. A view holding only documents that are
    not a return's own (a replacement sales order, an invoice) counts next to its return and
    is dropped alone; a return document under a link no return has is still an orphan."""
    exchange = ErpView(system="d365_bc", return_ref="R-2", return_document=False)
    web_order = ErpView(system="d365_bc", return_ref="#1001", return_document=False)
    typo = ErpView(system="d365_bc", return_ref="R-20", return_document=True)
    paired = pair([PlatformView(system="swap", return_ref="R-2")],
                  {"R-2": exchange, "#1001": web_order, "R-20": typo}, "d365_bc")
    assert [(c.return_ref, c.unlinked) for c in paired.cases] == [("R-2", False),
                                                                   ("R-20", True)]
    assert paired.cases[0].erp is exchange
