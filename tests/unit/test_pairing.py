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
