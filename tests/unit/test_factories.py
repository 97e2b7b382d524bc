from tests.factories import codes, healthy, run


def test_a_healthy_return_yields_no_finding_and_no_delay() -> None:
    for seed in range(30):
        for progress in ("in_transit", "received", "inspected", "credited"):
            days = {"in_transit": 2, "received": 3.2, "inspected": 3.2, "credited": 8}
            case = healthy(days_ago=days[progress], progress=progress, seed=seed,
                           single_line=False)
            assert run(case) == [], (seed, progress)


def test_a_healthy_exchange_yields_no_finding() -> None:
    assert codes(healthy(progress="inspected", exchange=True)) == set()
