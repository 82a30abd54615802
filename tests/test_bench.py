"""The benchmark scenarios still run (at a tiny size; timings are never asserted)."""

from sqlalchemy import inspect

from bench import metadata, routes, runtime
from potok.metadata import folders, requisites


def test_validate_compile_scenario_runs():
    [result] = metadata.validate_compile(runs=1)
    data = result.as_dict()
    assert data["scenario"] == "validate_compile"
    assert data["documents"] == len(folders.read_folder(metadata.SALES).documents) > 20
    assert data["potok"]["runs"] == 1 and "ratio_median" in data


def test_publish_field_scenario_runs(db):
    [result] = metadata.publish_field(db, 50, runs=2)
    data = result.as_dict()
    assert data["documents"] == 50
    assert data["potok"]["runs"] == 2 and data["floor"]["runs"] == 2
    with db.engine.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("s_clients")}
    assert {"extra_0", "extra_1", "raw_0", "raw_1"} <= columns


def test_generated_inns_are_valid():
    assert all(requisites.check_inn(metadata.valid_inn(n)) is None for n in range(1, 500))


def test_runtime_scenarios_run(settings, db):
    chosen = {"card", "list", "list_filter", "list_page_filter", "search"}
    results = runtime.run(settings, db, 120, chosen, runs=3)
    data = {result.as_dict()["scenario"]: result.as_dict() for result in results}
    assert set(data) == chosen
    for scenario in data.values():
        assert scenario["documents"] == 120
        assert scenario["potok"]["runs"] == 3 and scenario["floor"]["runs"] == 3
        assert scenario["potok"]["median_s"] > 0 and scenario["floor"]["median_s"] > 0


def test_route_scenarios_run(settings, db):
    results = routes.run(
        settings, db, 40, set(routes.SCENARIOS), runs=3, routed=4, routed_fork=3, inbox_tasks=60
    )
    data = {result.as_dict()["scenario"]: result.as_dict() for result in results}
    assert set(data) == {"route_transitions", "route_transitions_fork", "inbox", "inbox_done"}
    chain, fork = data["route_transitions"], data["route_transitions_fork"]
    assert chain["potok"]["requests"] == 4 * (1 + routes.STEPS) == chain["floor"]["requests"]
    assert fork["potok"]["requests"] == 3 * 4 == fork["floor"]["requests"]
    for scenario in (chain, fork):
        assert scenario["documents"] == 40 and scenario["potok"]["errors"] == 0
        assert scenario["potok"]["requests_per_s"] > 0 and scenario["floor"]["requests_per_s"] > 0
        assert scenario["ratio_throughput"] > 0
    for scenario in (data["inbox"], data["inbox_done"]):
        assert scenario["potok"]["runs"] == 3 and scenario["floor"]["runs"] == 3
        assert scenario["potok"]["median_s"] > 0 and scenario["floor"]["median_s"] > 0
