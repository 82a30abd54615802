"""Growth curves: rows, factors and verdicts from known figures, the report joined from results
files through the command line, and a real run at two tiny sizes (timings never asserted)."""

import json
import os
from datetime import date
from pathlib import Path

import pytest

from bench import growth
from bench.__main__ import main
from bench.database import BenchDatabase
from potok.platform.db import Database

MS = 0.001


def _timing(median_ms: float) -> dict[str, float]:
    return {"runs": 3, "median_s": median_ms * MS, "p95_s": median_ms * 1.5 * MS}


def _row(scenario: str, documents: int, potok_ms: float, floor_ms: float) -> dict[str, object]:
    return {
        "scenario": scenario,
        "documents": documents,
        "potok": _timing(potok_ms),
        "floor": _timing(floor_ms),
        "target": f"target of {scenario}",
        "peak_rss_mb": 100.0,
        "notes": "",
        "ratio_median": round(potok_ms / floor_ms, 2),
    }


def _throughput(documents: int, potok: float, floor: float) -> dict[str, object]:
    def load(per_second: float) -> dict[str, float]:
        return {
            "requests": int(per_second * 10),
            "seconds": 10.0,
            "errors": 0,
            "requests_per_s": per_second,
            "latency_p50_s": 32 / per_second,
            "latency_p99_s": 64 / per_second,
        }

    return {
        "scenario": "card_throughput",
        "documents": documents,
        "potok": load(potok),
        "floor": load(floor),
        "target": "half the bare endpoint",
        "peak_rss_mb": 100.0,
        "notes": "",
        "ratio_throughput": round(potok / floor, 2),
    }


def _report(size: str, rows: list[dict[str, object]], database: str = "sqlite") -> dict:
    return {
        "database": database,
        "size": size,
        "python": "3.11.7",
        "machine": "x86_64",
        "results": rows,
    }


# card stays flat; list grows as its floor does; search grows by itself; card_throughput's
# time per request doubles exactly (the edge of flat); list_count is measured at 10k only.
REPORTS = [
    _report(
        "1m",
        [
            _row("card", 1_000_000, 6.0, 1.2),
            _row("list", 1_000_000, 50.0, 40.0),
            _row("search", 1_000_000, 50.0, 11.0),
            _throughput(1_000_000, 100.0, 2000.0),
        ],
    ),
    _report(
        "10k",
        [
            _row("card", 10_000, 5.0, 1.0),
            _row("list", 10_000, 10.0, 10.0),
            _row("search", 10_000, 10.0, 10.0),
            _throughput(10_000, 200.0, 2000.0),
            _row("list_count", 10_000, 3.0, 2.0),
        ],
    ),
    _report(
        "100k",
        [
            _row("card", 100_000, 5.5, 1.0),
            _row("list", 100_000, 20.0, 20.0),
            _row("search", 100_000, 30.0, 10.0),
            _throughput(100_000, 160.0, 1000.0),
        ],
    ),
]


def _scenarios(built: dict) -> dict[str, dict]:
    return {scenario["scenario"]: scenario for scenario in built["scenarios"]}


def test_rows_come_per_size_smallest_first_with_growth_from_the_smallest():
    built = growth.build(REPORTS)
    assert built["database"] == "sqlite" and built["flat_within"] == growth.FLAT == 2.0
    assert [entry["size"] for entry in built["sizes"]] == ["10k", "100k", "1m"]
    assert [entry["documents"] for entry in built["sizes"]] == [10_000, 100_000, 1_000_000]
    scenarios = _scenarios(built)
    assert list(scenarios) == ["card", "list", "search", "card_throughput", "list_count"]
    card = scenarios["card"]
    assert [row["size"] for row in card["rows"]] == ["10k", "100k", "1m"]
    assert [row["potok_growth"] for row in card["rows"]] == [1.0, 1.1, 1.2]
    assert [row["floor_growth"] for row in card["rows"]] == [1.0, 1.0, 1.2]
    assert [row["potok"]["median_s"] for row in card["rows"]] == [0.005, 0.0055, 0.006]
    assert [row["ratio_median"] for row in card["rows"]] == [5.0, 5.5, 5.0]
    assert (card["from"], card["to"], card["potok_growth"], card["floor_growth"]) == (
        "10k",
        "1m",
        1.2,
        1.2,
    )
    # Throughput grows as the time per request: 200 -> 160 -> 100 req/s is x1.25, then x2.
    throughput = scenarios["card_throughput"]
    assert [row["potok_growth"] for row in throughput["rows"]] == [1.0, 1.25, 2.0]
    assert [row["floor_growth"] for row in throughput["rows"]] == [1.0, 2.0, 1.0]


def test_each_scenario_gets_its_verdict():
    scenarios = _scenarios(growth.build(REPORTS))
    verdicts = {name: scenario["verdict"] for name, scenario in scenarios.items()}
    assert verdicts == {
        "card": "flat",
        "list": "grows with the database",
        "search": "grows",
        "card_throughput": "flat",
        "list_count": "one size",
    }
    assert (scenarios["list"]["potok_growth"], scenarios["list"]["floor_growth"]) == (5.0, 4.0)
    assert (scenarios["search"]["potok_growth"], scenarios["search"]["floor_growth"]) == (5.0, 1.1)
    one = scenarios["list_count"]
    assert one["potok_growth"] is None and [row["size"] for row in one["rows"]] == ["10k"]
    assert set(verdicts.values()) <= set(growth.VERDICTS)


@pytest.mark.parametrize(
    ("potok", "floor", "expected"),
    [
        (None, None, "one size"),
        (1.0, 1.0, "flat"),
        (2.0, 1.0, "flat"),
        (2.01, 1.0, "grows"),
        (2.01, None, "grows"),
        (4.0, 2.0, "grows with the database"),
        (4.1, 2.0, "grows"),
        (100.0, 60.0, "grows with the database"),
    ],
    ids=[
        "one-size",
        "unchanged",
        "exactly-2x-is-flat",
        "just-over-2x",
        "no-floor",
        "floor-grew-as-much",
        "over-2x-the-floor",
        "both-grew-a-lot",
    ],
)
def test_verdict_rules(potok, floor, expected):
    assert growth.verdict(potok, floor) == expected


def test_the_markdown_shows_the_summary_and_a_row_per_size():
    lines = growth.table(growth.build(REPORTS))
    text = "\n".join(lines)
    assert lines[0] == "# Growth: sqlite, 10k → 100k → 1m documents"
    assert "within 2× of the smallest" in text
    assert "| card | target of card | ×1.2 from 10k to 1m | ×1.2 | flat |" in lines
    assert "| search | target of search | ×5.0 from 10k to 1m | ×1.1 | grows |" in lines
    assert "| list_count | target of list_count |  |  | one size |" in lines
    assert (
        "| card | 1m | 6.0 ms | 9.0 ms | 1.2 ms | 1.8 ms | 5.0 | ×1.2 | ×1.2 | 100.0 MB |" in lines
    )
    assert any(
        line.startswith("| card_throughput | 1m | 100 req/s | p50 320.0 ms, p99 640.0 ms |")
        for line in lines
    )
    listed = [line.split(" | ")[1] for line in lines if line.startswith("| list | ")]
    assert listed == ["target of list", "10k", "100k", "1m"]


def test_sizes_are_read_and_named_alike():
    assert [growth.parse_size(size) for size in ("10k", "100K", "1m", "120")] == [
        10_000,
        100_000,
        1_000_000,
        120,
    ]
    assert [growth.size_label(n) for n in (10_000, 100_000, 1_000_000, 120)] == [
        "10k",
        "100k",
        "1m",
        "120",
    ]
    for bad in ("", "k", "ten", "0", "1.5m"):
        with pytest.raises(ValueError, match="not a size"):
            growth.parse_size(bad)


def test_results_that_cannot_be_compared_are_refused():
    with pytest.raises(ValueError, match="different databases"):
        growth.build([REPORTS[0], _report("10k", [], database="postgresql")])
    with pytest.raises(ValueError, match="card at 10k is in more than one results file"):
        growth.build([*REPORTS, _report("10k", [_row("card", 10_000, 1.0, 1.0)])])
    with pytest.raises(ValueError, match="two sizes or more; there are: 10k"):
        growth.build([REPORTS[1]])


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


def test_the_report_is_joined_from_results_files(tmp_path, capsys):
    written = tmp_path / "written"
    small = _write(tmp_path / "2026-12-01-sqlite-10k-runtime.json", REPORTS[1])
    large = _write(tmp_path / "2026-11-22-sqlite-1m-runtime.json", REPORTS[0])
    assert main(["growth", "--from", str(small), str(large), "--results", str(written)]) == 0
    stem = written / f"{date.today().isoformat()}-sqlite-growth"
    data = json.loads(stem.with_suffix(".json").read_text())
    assert [entry["size"] for entry in data["sizes"]] == ["10k", "1m"]
    assert [entry["source"] for entry in data["sizes"]] == [small.name, large.name]
    scenarios = _scenarios(data)
    assert scenarios["card"]["potok_growth"] == 1.2 and scenarios["card"]["verdict"] == "flat"
    assert scenarios["search"]["verdict"] == "grows"
    page = stem.with_suffix(".md").read_text()
    assert "| card | target of card | ×1.2 from 10k to 1m | ×1.2 | flat |" in page
    assert small.name in page and large.name in page
    assert page.strip() in capsys.readouterr().out

    # A growth file joins again with a size measured apart, and keeps its figures.
    middle = _write(tmp_path / "2026-12-02-sqlite-100k-runtime.json", REPORTS[2])
    again = tmp_path / "again"
    previous = stem.with_suffix(".json")
    assert main(["growth", "--from", str(previous), str(middle), "--results", str(again)]) == 0
    joined = json.loads((again / previous.name).read_text())
    assert joined == growth.build(
        [
            {**REPORTS[1], "source": small.name},
            {**REPORTS[0], "source": large.name},
            {**REPORTS[2], "source": middle.name},
        ]
    )


def test_unreadable_or_mixed_files_stop_with_a_clear_message(tmp_path, capsys):
    sqlite = _write(tmp_path / "a.json", REPORTS[1])
    postgres = _write(tmp_path / "b.json", _report("1m", [], database="postgresql"))
    broken = tmp_path / "c.json"
    broken.write_text("{not json")
    other = _write(tmp_path / "d.json", {"hello": "world"})
    rowless = _write(tmp_path / "e.json", _report("1m", [{"scenario": "card"}]))
    cases = [
        ([sqlite, postgres], "results of different databases cannot be compared"),
        ([sqlite, broken], "c.json: cannot be read as a results file"),
        ([sqlite, other], "d.json: not a results file of python -m bench"),
        ([sqlite, tmp_path / "missing.json"], "missing.json: cannot be read"),
        ([sqlite, rowless], "e.json: its results lack peak_rss_mb, potok, scenario, target"),
    ]
    for files, message in cases:
        with pytest.raises(SystemExit) as stopped:
            main(["growth", "--from", *map(str, files), "--results", str(tmp_path / "out")])
        assert stopped.value.code == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["growth", "--from", str(sqlite), "--size", "10k,1m"])
    assert "takes no --size" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["growth", "--size", "10k"])
    assert "two sizes or more" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_growth_run_at_two_tiny_sizes_drops_each_database_before_the_next():
    url = os.environ.get("POTOK_TEST_DATABASE_URL", "").strip()
    events: list[tuple[str, str]] = []
    opened: list[BenchDatabase] = []

    class Recorded(BenchDatabase):
        def __enter__(self) -> Database:
            events.append(("open", self.name))
            opened.append(self)
            return super().__enter__()

        def __exit__(self, *exc: object) -> None:
            super().__exit__(*exc)
            events.append(("dropped", self.name))

    def open_database() -> BenchDatabase:
        if url:
            return Recorded("postgresql", url)
        return Recorded("sqlite")

    chosen = {"card", "list_filter"}
    reports = growth.run(["120", "60"], open_database, chosen, runs=3)
    first, second = (database.name for database in opened)
    assert events == [("open", first), ("dropped", first), ("open", second), ("dropped", second)]
    assert not any(Path(database.folder.name).exists() for database in opened)
    assert [report["size"] for report in reports] == ["60", "120"]

    built = growth.build(reports)
    assert [entry["documents"] for entry in built["sizes"]] == [60, 120]
    scenarios = _scenarios(built)
    assert set(scenarios) == chosen
    for scenario in scenarios.values():
        small, large = scenario["rows"]
        assert (small["size"], large["size"]) == ("60", "120")
        assert (small["documents"], large["documents"]) == (60, 120)
        assert small["potok_growth"] == 1.0 == small["floor_growth"]
        expected = round(large["potok"]["median_s"] / small["potok"]["median_s"], 2)
        assert large["potok_growth"] == expected == scenario["potok_growth"]
        floor = round(large["floor"]["median_s"] / small["floor"]["median_s"], 2)
        assert large["floor_growth"] == floor == scenario["floor_growth"]
        assert scenario["verdict"] == growth.verdict(expected, floor)
