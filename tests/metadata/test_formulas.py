"""The formula language of computed fields: values, functions, types, cycles, and a corpus
of sandbox-escape attempts that must all be refused before anything runs."""

from __future__ import annotations

import contextlib
import warnings
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from potok.errors import ValidationFailed
from potok.metadata.formulas import (
    DATE_OUT_OF_RANGE,
    FUNCTIONS,
    MAX_SOURCE_CHARS,
    TEXT_TOO_LONG,
    TOO_LARGE,
    Formula,
    FormulaError,
    check_cycles,
    compile_formula,
    evaluate_all,
    evaluation_order,
    infer_type,
    table_kind,
)

TODAY = date(2024, 5, 10)
NOW = datetime(2024, 5, 10, 14, 30)
D = Decimal


def run(source: str, **values: Any) -> Any:
    return compile_formula(source).evaluate(values, today=TODAY, now=NOW)


def refused(source: str, **values: Any) -> FormulaError:
    with pytest.raises(FormulaError) as caught:
        run(source, **values)
    return caught.value


# --- values --------------------------------------------------------------------------------

ARITHMETIC = [
    ("0.1 + 0.2 == 0.3", {}, True),
    ("0.1 + 0.2", {}, D("0.3")),
    ("1 + 2 * 3", {}, 7),
    ("(1 + 2) * 3", {}, 9),
    ("7 / 2", {}, D("3.5")),
    ("1 / 3", {}, D("0.3333333333333333333333333333")),
    ("4 / 2", {}, D("2")),
    ("7 // 2", {}, 3),
    ("-7 // 2", {}, -4),
    ("7.5 // 2", {}, 3),
    ("7 % 3", {}, 1),
    ("-7 % 3", {}, 2),
    ("-7.5 % 2", {}, D("0.5")),
    ("7.5 % -2", {}, D("-0.5")),
    ("2 ** 10", {}, 1024),
    ("1.5 ** 2", {}, D("2.25")),
    ("2.5 ** 0", {}, D("1")),
    ("0 ** 0", {}, 1),
    ("-x", {"x": D("1.5")}, D("-1.5")),
    ("+x", {"x": 3}, 3),
    ("price * quantity", {"price": D("19.99"), "quantity": 3}, D("59.97")),
    (
        "round(price * quantity * (1 + vat / 100), 2)",
        {"price": D("10.05"), "quantity": 3, "vat": 20},
        D("36.18"),
    ),
    ("1_000.5 + 1e2", {}, D("1100.5")),
    ("0.1000000000000000000000000001 * 10", {}, D("1.000000000000000000000000001")),
    ("x * 3", {"x": 0.1}, D("0.3")),  # a float from outside is read through its repr
    ("'Acme' + ' ' + 'Ltd'", {}, "Acme Ltd"),
    ("999999999999999999", {}, 999999999999999999),
]


@pytest.mark.parametrize(
    ("source", "values", "expected"), ARITHMETIC, ids=[case[0] for case in ARITHMETIC]
)
def test_arithmetic_is_exact(source, values, expected):
    result = run(source, **values)
    assert result == expected
    assert type(result) is type(expected)


def test_float_literals_are_read_from_their_text_as_decimals():
    result = run("0.1")
    assert type(result) is Decimal
    assert str(result) == "0.1"


ROUNDING = [
    ("round(2.5)", 3),
    ("round(3.5)", 4),
    ("round(-2.5)", -3),
    ("round(2.4999)", 2),
    ("round(1.005, 2)", D("1.01")),
    ("round(1.015, 2)", D("1.02")),
    ("round(2.675, 2)", D("2.68")),
    ("round(0.125, 2)", D("0.13")),
    ("round(-0.125, 2)", D("-0.13")),
    ("round(1.2, 3)", D("1.200")),
    ("round(7, 2)", 7),
    ("round(1250, -2)", 1300),
    ("round(1249, -2)", 1200),
    ("round(1250.0, -2)", D("1300")),
    ("round(1.25, ndigits=1)", D("1.3")),
    ("round(5)", 5),
]


@pytest.mark.parametrize(("source", "expected"), ROUNDING, ids=[case[0] for case in ROUNDING])
def test_round_rounds_half_away_from_zero_like_accountants(source, expected):
    result = run(source)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("digits", [11, -18, 100])
def test_round_refuses_digits_out_of_range(digits):
    assert "round keeps" in str(refused(f"round(1.5, {digits})"))


NULLS = [
    ("x + 1", None),
    ("1 - x", None),
    ("x * 2.5", None),
    ("x / 2", None),
    ("x ** 2", None),
    ("-x", None),
    ("x + 'text'", None),
    ("x < 1", None),
    ("not x", None),
    ("x == None", True),
    ("x != None", False),
    ("None == None", True),
    ("1 == None", False),
    ("x and True", None),
    ("x and False", False),
    ("x or True", True),
    ("x or False", None),
    ("1 if x else 2", 2),
    ("round(x, 2)", None),
    ("round(1.5, x)", None),
    ("abs(x)", None),
    ("len(x)", None),
    ("upper(x)", None),
    ("add_days(x, 1)", None),
    ("add_days(today(), x)", None),
    ("year(x)", None),
    ("days_between(x, today())", None),
    ("min(x, 3, 2)", 2),
    ("max(x, None)", None),
    ("coalesce(x, 0)", 0),
    ("concat('a', x, 'b')", "ab"),
    ("x < 1 < 2", None),
    ("x < 1 < 0", False),
]


@pytest.mark.parametrize(("source", "expected"), NULLS, ids=[case[0] for case in NULLS])
def test_null_propagates_like_in_spreadsheets_and_sql(source, expected):
    assert run(source, x=None) == expected


def test_a_missing_field_reads_as_null():
    assert run("x + 1") is None


@pytest.mark.parametrize("source", ["1 / 0", "1 // 0", "1 % 0", "1.5 / 0.0", "x / (y - y)"])
def test_division_by_zero_gives_null(source):
    assert run(source, x=5, y=D("2.5")) is None


LOGIC = [
    ("1 < 2 < 3", True),
    ("1 < 3 < 2", False),
    ("'a' < 'b'", True),
    ("2 == 2.0", True),
    ("True == True", True),
    ("not True", False),
    ("True and False or True", True),
    ("'yes' if 1 > 2 else 'no'", "no"),
    ("if(1 > 2, 'yes', 'no')", "no"),
    ("IF(2 > 1, 'yes', 'no')", "yes"),
    ("x if (x) else False", True),
    ("(1 if (True) else 2) + if (False, 10, 20)", 21),
    ("Round(2.5) + ABS(-1)", 4),
]


@pytest.mark.parametrize(("source", "expected"), LOGIC, ids=[case[0] for case in LOGIC])
def test_comparisons_logic_and_conditions(source, expected):
    assert run(source, x=True) == expected


def test_if_and_coalesce_evaluate_only_what_they_need():
    assert run("if(True, 1, x + 1)", x="text") == 1
    assert run("coalesce(1, x + 1)", x="text") == 1
    assert run("False and x + 1 > 0", x="text") is False
    assert run("True or x + 1 > 0", x="text") is True


FUNCTION_CASES = [
    ("abs(-2.5)", D("2.5")),
    ("abs(-3)", 3),
    ("min(3, 1.5, 2)", D("1.5")),
    ("min(3, 1, 2)", 1),
    ("min(1, 2.5)", D("1")),
    ("max(3, 1, 2)", 3),
    ("max('apple', 'pear')", "pear"),
    ("max(d, today())", date(2030, 1, 1)),
    ("coalesce(None, None, 'x')", "x"),
    ("coalesce(None)", None),
    ("len('Договор')", 7),
    ("upper('Договор')", "ДОГОВОР"),
    ("lower('ДОГОВОР')", "договор"),
    ("trim('  a b  ')", "a b"),
    ("concat('№', 12, ' от ', d)", "№12 от 2030-01-01"),
    ("concat('total: ', 12.50, ', ', True, ', ', now())", "total: 12.50, true, 2024-05-10 14:30"),
    ("today()", TODAY),
    ("now()", NOW),
    ("days_between(d, today())", -2062),
    ("days_between(today(), now())", 0),
    ("add_days(today(), 30)", date(2024, 6, 9)),
    ("add_days(now(), -1)", datetime(2024, 5, 9, 14, 30)),
    ("add_months(today(), 1)", date(2024, 6, 10)),
    ("year(d) * 10000 + month(d) * 100 + day(d)", 20300101),
    ("year(now())", 2024),
    ("today() + 1", date(2024, 5, 11)),
    ("1 + today()", date(2024, 5, 11)),
    ("today() - 10", date(2024, 4, 30)),
    ("d - today()", 2062),
    ("now() + 1", datetime(2024, 5, 11, 14, 30)),
]


@pytest.mark.parametrize(
    ("source", "expected"), FUNCTION_CASES, ids=[case[0] for case in FUNCTION_CASES]
)
def test_every_function(source, expected):
    result = run(source, d=date(2030, 1, 1))
    assert result == expected
    assert type(result) is type(expected)


def test_every_function_is_exercised_by_the_tests():
    cases = FUNCTION_CASES + ROUNDING + NULLS + AGGREGATES + LOGIC
    sources = " ".join(case[0] for case in cases).lower()
    assert [name for name in FUNCTIONS if f"{name}(" not in sources] == []


MONTHS = [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 3, 31), -1, date(2024, 2, 29)),
    (date(2024, 5, 31), 1, date(2024, 6, 30)),
    (date(2024, 12, 15), 1, date(2025, 1, 15)),
    (date(2024, 1, 15), -1, date(2023, 12, 15)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2024, 3, 31), -13, date(2023, 2, 28)),
    (datetime(2024, 1, 31, 9, 15), 1, datetime(2024, 2, 29, 9, 15)),
]


@pytest.mark.parametrize(("start", "months", "expected"), MONTHS, ids=str)
def test_add_months_clamps_to_the_end_of_the_month(start, months, expected):
    assert run("add_months(d, n)", d=start, n=months) == expected


@pytest.mark.parametrize(
    "source", ["add_days(d, 10 ** 17)", "add_months(d, 10 ** 6)", "d - 1", "add_days(d, -1)"]
)
def test_dates_out_of_range_are_formula_errors(source):
    error = refused(source, d=date(1, 1, 1))
    assert error.message == DATE_OUT_OF_RANGE


STAGES = [
    {"title": "Design", "amount": D("1000.50"), "hours": 10},
    {"title": "Build", "amount": D("2000.25"), "hours": None},
    {"title": "Test", "amount": None, "hours": 5},
]
AGGREGATES = [
    ("sum(stages, 'amount')", D("3000.75")),
    ("sum(stages, 'hours')", 15),
    ("sum(stages, 'missing')", 0),
    ("avg(stages, 'amount')", D("1500.375")),
    ("avg(stages, 'hours')", D("7.5")),
    ("avg(stages, 'missing')", None),
    ("count(stages)", 3),
    ("count(stages, 'hours')", 2),
    ("round(sum(stages, 'amount') / count(stages), 2)", D("1000.25")),
]


@pytest.mark.parametrize(("source", "expected"), AGGREGATES, ids=[case[0] for case in AGGREGATES])
def test_table_aggregates_skip_empty_cells(source, expected):
    result = run(source, stages=STAGES)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("empty", [None, [], ()])
def test_aggregates_of_an_empty_table(empty):
    assert run("sum(t, 'a')", t=empty) == 0
    assert run("count(t)", t=empty) == 0
    assert run("avg(t, 'a')", t=empty) is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("not a table", "is not a table"),
        ([1, 2], "is not a table"),
        ([{"a": "text"}], "sum cannot use text"),
        ([{"a": date(2024, 1, 1)}], "sum cannot use date"),
        ([{"a": object()}], "holds a value formulas cannot use"),
        ([{"a": D("NaN")}], "holds a value formulas cannot use"),
        ([{"a": 10**18}], "too large"),
        ([{"a": 10**17}] * 10, "too large"),
    ],
    ids=["text", "list of numbers", "text cell", "date cell", "object", "nan", "huge", "sum"],
)
def test_aggregates_report_bad_tables(table, message):
    assert message in str(refused("sum(t, 'a')", t=table))


def test_a_table_is_no_result():
    assert "not a table" in str(refused("t", t=STAGES))
    assert "not a table" in str(refused("coalesce(t, t)", t=STAGES))


RUNTIME_TYPE_ERRORS = [
    ("x * 2", {"x": "text"}, "* cannot use text and integer"),
    ("x + 1", {"x": "text"}, "+ cannot use text and integer"),
    ("d + 'x'", {"d": date(2024, 1, 1)}, "+ cannot use date and text"),
    ("d + 1.5", {"d": date(2024, 1, 1)}, "+ cannot use date and decimal"),
    ("d - t", {"d": date(2024, 1, 1), "t": NOW}, "- cannot use date and datetime"),
    ("t - t", {"t": NOW}, "- cannot use datetime and datetime"),
    ("d < now()", {"d": date(2024, 1, 1)}, "< cannot use date and datetime"),
    ("x < 1", {"x": "1"}, "< cannot use text and integer"),
    ("x == 1", {"x": "1"}, "== cannot use text and integer"),
    ("b < True", {"b": False}, "< cannot use boolean and boolean"),
    ("x < t", {"x": datetime(2024, 1, 1), "t": datetime(2024, 1, 1, tzinfo=UTC)}, "<"),
    ("-x", {"x": "text"}, "- cannot use text"),
    ("x ** 2", {"x": True}, "** cannot use boolean"),
    ("not x", {"x": 1}, "a condition must be True or False, not integer"),
    ("x and True", {"x": "yes"}, "a condition must be True or False, not text"),
    ("if(x, 1, 2)", {"x": 0}, "a condition must be True or False, not integer"),
    ("1 if x else 2", {"x": "no"}, "a condition must be True or False, not text"),
    ("len(x)", {"x": 5}, "len cannot use integer"),
    ("upper(x)", {"x": 5}, "upper cannot use integer"),
    ("abs(x)", {"x": "5"}, "abs cannot use text"),
    ("round(x)", {"x": "5"}, "round cannot use text"),
    ("round(1.5, x)", {"x": D("1.5")}, "round cannot use decimal"),
    ("year(x)", {"x": "2024"}, "year cannot use text"),
    ("add_days(today(), x)", {"x": D("1.5")}, "add_days cannot use decimal"),
    ("add_months(x, 1)", {"x": 5}, "add_months cannot use integer"),
    ("days_between(x, today())", {"x": "2024-01-01"}, "days_between cannot use text"),
    ("min(x, 1)", {"x": "a"}, "< cannot use integer and text"),
    ("max(x, x)", {"x": True}, "max cannot use boolean"),
    ("concat(x)", {"x": [{"a": 1}]}, "concat cannot use table"),
    ("x + 1", {"x": [{"a": 1}]}, "+ cannot use table and integer"),
    ("x + 1", {"x": object()}, "holds a value formulas cannot use"),
    ("x + 1", {"x": float("nan")}, "holds a value formulas cannot use"),
    ("x + 1", {"x": D("Infinity")}, "holds a value formulas cannot use"),
    ("x + 1", {"x": b"bytes"}, "holds a value formulas cannot use"),
]


def _type_names(values: dict[str, Any]) -> str:
    return ", ".join(type(value).__name__ for value in values.values()) or "nothing"


@pytest.mark.parametrize(
    ("source", "values", "message"),
    RUNTIME_TYPE_ERRORS,
    ids=[f"{case[0]} with {_type_names(case[1])}" for case in RUNTIME_TYPE_ERRORS],
)
def test_runtime_type_errors_are_formula_errors_with_a_position(source, values, message):
    error = refused(source, **values)
    assert message in str(error)
    assert error.line == 1
    assert error.column is not None


def test_a_runtime_error_points_at_the_failing_part():
    error = refused("concat('a',\n  upper(x))", x=5)
    assert (error.line, error.column) == (2, 3)


def test_formula_errors_are_validation_errors():
    assert issubclass(FormulaError, ValidationFailed)
    assert FormulaError.status == 400


# --- limits --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "values"),
    [
        ("9 ** 64", {}),
        ("999999999999999999 + 1", {}),
        ("x * x", {"x": 10**9}),
        ("x * x * x", {"x": D("1000000.5")}),
        ("2 ** 60 * 2 ** 3", {}),
        ("x / 0.000000000000000001", {"x": 2}),
        ("x", {"x": 10**18}),
        ("x", {"x": D("1E+18")}),
        ("x + 1", {"x": D("1E+999999")}),
        ("x + 1", {"x": 1e300}),
        ("round(x)", {"x": D("999999999999999999.5")}),
        ("1000000000000000000", {}),
        ("1e18", {}),
        ("1e400", {}),
    ],
    ids=str,
)
def test_numbers_stay_below_ten_to_the_eighteenth(source, values):
    with pytest.raises(FormulaError) as caught:
        compile_formula(source).evaluate(values, today=TODAY, now=NOW)
    assert caught.value.message == TOO_LARGE


def test_tiny_numbers_underflow_to_zero_without_failing():
    assert run("x * x", x=D("1E-70")) == 0
    assert run("x + 1", x=D("1E-999999")) == 1


def test_text_results_are_limited():
    half = "a" * 5000
    assert len(run("concat(x, x)", x=half)) == 10_000
    for source in ["concat(x, x, 'a')", "x + x + 'a'", "upper(x + x + 'a')", "trim(x)", "x"]:
        assert refused(source, x=half + half + "b").message == TEXT_TOO_LONG
    assert run("len(x)", x=half * 10) == 50_000  # longer input text is fine


def test_source_length_nodes_and_depth_are_limited():
    assert (
        compile_formula("1" + " " * (MAX_SOURCE_CHARS - 1)).evaluate({}, today=TODAY, now=NOW) == 1
    )
    assert "longer than 2000" in _compile_error("1" + " " * MAX_SOURCE_CHARS)
    assert "more than 500 parts" in _compile_error("+".join(["(a+b+c+d+e+f+g+h+i)"] * 60))
    assert "more than 50 levels" in _compile_error("-" * 60 + "1")
    assert "more than 50 levels" in _compile_error("+".join("a" * 60))
    compile_formula("-" * 48 + "1")


def _compile_error(source: str) -> str:
    with pytest.raises(FormulaError) as caught:
        compile_formula(source)
    return str(caught.value)


# --- compiling -----------------------------------------------------------------------------


def test_fields_lists_what_the_formula_reads():
    formula = compile_formula("round(price * qty, 2) + sum(stages, 'amount') + count(items)")
    assert formula.fields == {"price", "qty", "stages", "items"}
    assert formula.source == "round(price * qty, 2) + sum(stages, 'amount') + count(items)"
    assert isinstance(formula, Formula)


def test_a_formula_may_span_lines_and_carry_comments():
    source = "  price *\n    quantity  # per line\n + 1\n"
    assert run(source, price=2, quantity=3) == 7


def test_field_keys_that_match_function_names_are_fields():
    assert run("year + count", year=2024, count=1) == 2025


SYNTAX_ERRORS = [
    ("", "empty", None),
    ("   \n ", "empty", None),
    ("1 +", "syntax error", None),
    ("(1 + 2", "is not closed", (1, 1)),
    ("1 + 2)", "no matching opening bracket", (1, 6)),
    ("round(1, 2]", "no matching opening bracket", (1, 11)),
    ("'abc", "not closed", (1, 1)),
    ("'''abc", "not closed", None),
    ("price $ 2", "Unexpected character $", (1, 7)),
    ("1if True else 2", "Put a space", (1, 2)),
    ("1 +\n\n  x.y", "Attributes", (3, 3)),
    ("upper(цена)", "Latin letters", (1, 7)),
    ("Price * 2", "lowercase Latin letters", (1, 1)),
    ("1 2", "syntax error", None),
    ("x = 1", "syntax error", None),
    ("1; 2", "syntax error", None),
    ("# just a comment", "empty", None),
    ("now() - now()", "- cannot use datetime and datetime", (1, 1)),
    ("x - now()", "Type mismatch: - cannot use datetime", (1, 1)),
    ("'%s' % x", "Type mismatch: % cannot use text", (1, 1)),
    ("sum(t, 'a', 'b')", "sum: arguments expected: 2, given: 3", (1, 1)),
    ("today(1)", "today: arguments expected: 0, given: 1", (1, 1)),
    ("concat()", "concat: arguments expected: 1–…, given: 0", (1, 1)),
    ("round(1, 2, 3)", "round: arguments expected: 1–2, given: 3", (1, 1)),
    ("upper(x=1)", "does not take this named argument", (1, 7)),
    ("'a' + 1", "+ cannot use text and integer", (1, 1)),
    ("if(1, 2, 3)", "a condition must be True or False, not integer", (1, 1)),
    ("if(True, 1, 'a')", "if cannot use integer and text", (1, 1)),
    ("d +\n 'x' * 2", "* cannot use text and integer", (2, 2)),
]


@pytest.mark.parametrize(
    ("source", "message", "position"), SYNTAX_ERRORS, ids=[case[0] for case in SYNTAX_ERRORS]
)
def test_mistakes_are_reported_with_a_position(source, message, position):
    with pytest.raises(FormulaError) as caught:
        compile_formula(source)
    assert message in str(caught.value)
    if position is not None:
        assert (caught.value.line, caught.value.column) == position


# --- types ---------------------------------------------------------------------------------

KINDS = {
    "title": "text",
    "qty": "integer",
    "price": "decimal",
    "signed_on": "date",
    "sent_at": "datetime",
    "urgent": "boolean",
    "amount": "money",
    "email": "email",
    "stages": table_kind({"amount": "decimal", "hours": "integer", "note": "text"}),
    "links": "table:item:ref",
    "files": "files",
}

INFERENCE = [
    ("title", "text"),
    ("qty + 1", "integer"),
    ("qty * price", "decimal"),
    ("qty / 2", "decimal"),
    ("price // 2", "integer"),
    ("qty % 2", "integer"),
    ("price % 2", "decimal"),
    ("price ** 2", "decimal"),
    ("qty ** 2", "integer"),
    ("-price", "decimal"),
    ("amount + 1", "decimal"),
    ("round(price)", "integer"),
    ("round(price, 2)", "decimal"),
    ("round(qty, -1)", "integer"),
    ("abs(qty)", "integer"),
    ("min(qty, price)", "decimal"),
    ("max(signed_on, today())", "date"),
    ("if(urgent, qty, price)", "decimal"),
    ("qty if urgent else None", "integer"),
    ("coalesce(price, 0)", "decimal"),
    ("len(title)", "integer"),
    ("upper(email)", "text"),
    ("concat(title, qty, signed_on, urgent, None)", "text"),
    ("title + '!'", "text"),
    ("today()", "date"),
    ("now()", "datetime"),
    ("days_between(signed_on, sent_at)", "integer"),
    ("add_days(signed_on, qty)", "date"),
    ("add_months(sent_at, 1)", "datetime"),
    ("signed_on + 1", "date"),
    ("signed_on - today()", "integer"),
    ("year(sent_at)", "integer"),
    ("sum(stages, 'amount')", "decimal"),
    ("sum(stages, 'hours')", "integer"),
    ("avg(stages, 'hours')", "decimal"),
    ("count(stages)", "integer"),
    ("count(links, 'item')", "integer"),
    ("qty > 1 and not urgent", "boolean"),
    ("signed_on < today()", "boolean"),
    ("title == None", "boolean"),
    ("None", "null"),
    ("None + 1", "null"),
    ("qty + None", "null"),
    ("if(urgent, None, None)", "null"),
]


@pytest.mark.parametrize(("source", "kind"), INFERENCE, ids=[case[0] for case in INFERENCE])
def test_infer_type(source, kind):
    assert infer_type(compile_formula(source), KINDS) == kind


TYPE_ERRORS = [
    ("missing + 1", "Unknown field missing"),
    ("sum(missing, 'a')", "Unknown field missing"),
    ("title * 2", "Type mismatch: * cannot use text and integer"),
    ("title + qty", "Type mismatch: + cannot use text and integer"),
    ("signed_on + sent_at", "Type mismatch: + cannot use date and datetime"),
    ("signed_on < sent_at", "Type mismatch: < cannot use date and datetime"),
    ("urgent < True", "Type mismatch: < cannot use boolean and boolean"),
    ("if(qty, 1, 2)", "a condition must be True or False, not integer"),
    ("if(urgent, title, qty)", "Type mismatch: if cannot use text and integer"),
    ("coalesce(title, 0)", "Type mismatch: coalesce cannot use text and integer"),
    ("len(qty)", "Type mismatch: len cannot use integer"),
    ("round(price, 1.5)", "Type mismatch: round cannot use decimal"),
    ("add_days(signed_on, price)", "Type mismatch: add_days cannot use decimal"),
    ("year(title)", "Type mismatch: year cannot use text"),
    ("max(urgent, urgent)", "Type mismatch: max cannot use boolean"),
    ("stages + 1", "Type mismatch: + cannot use table and integer"),
    ("stages", "not a table"),
    ("concat(stages)", "concat cannot use table"),
    ("sum(qty, 'a')", "sum cannot use integer"),
    ("sum(stages, 'missing')", "Table stages has no column missing"),
    ("sum(stages, 'note')", "sum cannot use text"),
    ("sum(links, 'item')", "sum cannot use ref"),
    ("files", "Field files (files) cannot be used in formulas"),
]


@pytest.mark.parametrize(("source", "message"), TYPE_ERRORS, ids=[case[0] for case in TYPE_ERRORS])
def test_infer_type_reports_unknown_fields_and_mismatches(source, message):
    with pytest.raises(FormulaError) as caught:
        infer_type(compile_formula(source), KINDS)
    assert message in str(caught.value)
    assert caught.value.line == 1


def test_table_kind_is_a_readable_string():
    assert table_kind({"amount": "decimal", "qty": "integer"}) == "table:amount:decimal,qty:integer"


# --- several computed fields ---------------------------------------------------------------


def _formulas(**sources: str) -> dict[str, Formula]:
    return {key: compile_formula(source) for key, source in sources.items()}


def test_check_cycles():
    assert check_cycles(_formulas(a="b + 1", b="a + 1")) == [["a", "b", "a"]]
    assert check_cycles(_formulas(a="a + 1")) == [["a", "a"]]
    assert check_cycles(_formulas(a="b", b="c", c="a", d="a", x="y", y="x")) == [
        ["a", "b", "c", "a"],
        ["x", "y", "x"],
    ]
    assert check_cycles(_formulas(a="b + price", b="price")) == []
    assert check_cycles({}) == []


def test_the_reported_cycle_is_the_shortest_through_the_first_key():
    cycles = check_cycles(_formulas(a="b + c", b="c", c="a + b"))
    assert cycles == [["a", "c", "a"]]


def test_evaluation_order_puts_dependencies_first():
    formulas = _formulas(total="net + vat", vat="round(net * 0.2, 2)", net="price * qty", z="1")
    assert evaluation_order(formulas) == ["net", "vat", "total", "z"]
    assert evaluate_all(formulas, {"price": D("10.10"), "qty": 3}, today=TODAY, now=NOW) == {
        "total": D("36.360"),
        "vat": D("6.06"),
        "net": D("30.30"),
        "z": 1,
    }


def test_evaluation_order_refuses_cycles_and_names_the_fields():
    with pytest.raises(FormulaError) as caught:
        evaluation_order(_formulas(a="b", b="a", c="1"))
    assert str(caught.value) == "Computed fields refer to each other in a loop: a → b → a"
    assert set(caught.value.field_errors) == {"a", "b"}


def test_a_long_chain_of_fields_does_not_recurse():
    formulas = _formulas(**{f"f{i}": f"f{i + 1} + 1" for i in range(3000)}, f3000="0")
    assert evaluation_order(formulas)[0] == "f3000"
    chain = _formulas(**{f"f{i}": f"f{(i + 1) % 3000}" for i in range(3000)})
    assert len(check_cycles(chain)[0]) == 3001


# --- sandbox escapes -----------------------------------------------------------------------

DEEP = "(" * 250 + "1" + ")" * 250
ESCAPES = {
    "import os": "__import__('os').system('id')",
    "subclasses": "().__class__.__bases__[0].__subclasses__()",
    "open": "open('/etc/passwd')",
    "open read": "open('/etc/passwd').read()",
    "eval": "eval('1')",
    "exec": "exec('import os')",
    "compile": "compile('1', 'x', 'eval')",
    "getattr": "getattr(x, 'y')",
    "setattr": "setattr(x, 'y', 1)",
    "globals": "globals()",
    "locals": "locals()",
    "vars": "vars()",
    "dir": "dir()",
    "print": "print(1)",
    "breakpoint": "breakpoint()",
    "input": "input()",
    "type": "type(x)",
    "lambda": "lambda: 1",
    "called lambda": "(lambda: 1)()",
    "list comprehension": "[x for x in y]",
    "set comprehension": "{x for x in y}",
    "dict comprehension": "{x: 1 for x in y}",
    "generator": "sum(x for x in y)",
    "dict unpacking": "{**a}",
    "list unpacking": "[*a]",
    "star argument": "concat(*a)",
    "double star argument": "round(**a)",
    "f-string": 'f"{x}"',
    "f-string attribute": 'f"{x.__class__}"',
    "format method": "'{0.__class__}'.format(x)",
    "percent format": "'%s' % x",
    "dunder dict": "x.__dict__",
    "attribute": "x.y",
    "method of a result": "today().replace(year=1)",
    "constant attribute": "None.__class__.__bases__",
    "function attribute": "sum.__call__",
    "subscript": "x[0]",
    "slice": "x[1:2]",
    "walrus": "(a := 1)",
    "yield": "(yield)",
    "yield from": "(yield from x)",
    "await": "await x",
    "builtins": "__builtins__",
    "builtins subscript": "__builtins__['eval']",
    "debug": "__debug__",
    "private name": "_secret",
    "private function": "_f(1)",
    "capitalised builtin": "Ellipsis",
    "huge power": "9**9**9",
    "power of a field": "2 ** x",
    "exponent over the limit": "10 ** 100",
    "negative exponent": "2 ** -1",
    "text repetition": "'a' * 10**9",
    "small text repetition": "'a' * 100",
    "deep unary": "-" * 100 + "1",
    "deep not": "not " * 100 + "True",
    "deep brackets": DEEP,
    "deep calls": "abs(" * 60 + "1" + ")" * 60,
    "long input": "1+" * 1500 + "1",
    "very long input": "-" * 100_000,
    "null byte": "1\x00",
    "null byte in text": "'\x00'",
    "zero-width space": "\u200b__import__('os')",
    "right-to-left override": "'\u202e'",
    "line separator": "1\u2028+ 1",
    "fullwidth underscore": "\uff3f\uff3fimport\uff3f\uff3f('os')",
    "fullwidth eval": "\uff45\uff56\uff41\uff4c('1')",
    "fullwidth open": "\uff4f\uff50\uff45\uff4e('/etc/passwd')",
    "cyrillic i in import": "__\u0456mport__('os')",
    "cyrillic a in field": "\u0430 + 1",
    "escaped dunder": "'\\x5f\\x5fimport\\x5f\\x5f'",
    "named escape": "'\\N{LOW LINE}'",
    "line continuation": "1 + \\\n 2",
    "hidden in a branch": "1 if x else __import__('os')",
    "hidden in if": "if(True, 1, eval('2'))",
    "hidden in coalesce": "coalesce(1, exec('x'))",
    "list literal to sum": "sum([1, 2], 'a')",
    "aggregate of an attribute": "sum(stages.__class__, 'a')",
    "column from a field": "sum(stages, column)",
    "dunder column": "sum(stages, '__class__')",
    "aggregate of a call": "count(open('x'))",
    "unknown keyword": "round(1, ndigits=2, x=3)",
    "keyword instead of value": "round(x=1)",
    "globals via branch attribute": "1 if x else y.__globals__",
    "matrix multiplication": "x @ y",
    "invert": "~x",
    "shift": "1 << 64",
    "bit or": "x | y",
    "complex": "1j",
    "bytes": "b'abc'",
    "ellipsis": "...",
    "in": "x in y",
    "is": "x is None",
    "tuple": "1, 2",
    "empty tuple": "()",
    "list": "[]",
    "set": "{1}",
    "dict": "{}",
    "assignment": "x = 1",
    "statement": "import os",
    "two statements": "1; __import__('os')",
    "call of a call": "round(1)(2)",
    "call of a constant": "'abc'(1)",
    "if as a name": "IF.__class__",
    "capitalised placeholder": "IF",
}


def test_the_escape_corpus_is_large_enough():
    assert len(ESCAPES) >= 40


@pytest.mark.parametrize("source", list(ESCAPES.values()), ids=list(ESCAPES))
def test_sandbox_escapes_are_refused_when_compiling(source):
    with pytest.raises(FormulaError):
        compile_formula(source)


# --- fuzzing -------------------------------------------------------------------------------

NAMES = ["a", "b", "t", "d", "s", "x1", "__class__", "_x", "IF", "open", "today"]
FUZZ_FUNCTIONS = [*FUNCTIONS, "IF", "eval", "open", "getattr", "__import__", "type"]
OPERATORS = [
    "+", "-", "*", "/", "//", "%", "**", "@", "<<", "|", "&", "and", "or",
    "==", "!=", "<", ">=", "in", "is", "if", "else",
]  # fmt: skip

leaves = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["0", "0.0", "1e308", "1e-308", "9" * 30, "0x1F", "1_000", "1j", "..."]),
    st.text(st.characters(exclude_characters="\\'\n\r"), max_size=10).map(lambda s: f"'{s}'"),
    st.sampled_from(NAMES),
    st.sampled_from(["True", "False", "None"]),
)


def _call(name: str, args: list[str]) -> str:
    return f"{name}({', '.join(args)})"


expressions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(" ".join),
        st.tuples(st.sampled_from(["-", "+", "not ", "~"]), inner).map("".join),
        st.tuples(st.sampled_from(FUZZ_FUNCTIONS), st.lists(inner, max_size=4)).map(
            lambda pair: _call(*pair)
        ),
        st.tuples(st.sampled_from(["sum", "avg", "count"]), st.sampled_from(NAMES), inner).map(
            lambda parts: f"{parts[0]}({parts[1]}, {parts[2]})"
        ),
        st.tuples(inner, inner, inner).map(lambda p: f"{p[0]} if {p[1]} else {p[2]}"),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"{e}.real"),
        inner.map(lambda e: f"[{e}]"),
        inner.map(lambda e: f"{e}[0]"),
        inner.map(lambda e: f"lambda: {e}"),
        st.tuples(inner, inner).map(lambda p: f"round({p[0]}, ndigits={p[1]})"),
    ),
    max_leaves=30,
)

rows = st.lists(
    st.dictionaries(
        st.sampled_from(["a", "b", "amount"]),
        st.one_of(st.none(), st.integers(), st.decimals(), st.text(max_size=3), st.dates()),
        max_size=3,
    ),
    max_size=4,
)
field_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**19), 10**19),
    st.decimals(),
    st.floats(),
    st.text(max_size=20),
    st.text(max_size=2).map(lambda s: s * 6000),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    rows,
    st.just(object()),
    st.lists(st.integers(), max_size=3),
)


def _compiles(source: str) -> Formula | None:
    try:
        return compile_formula(source)
    except FormulaError:
        return None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_random_text_only_ever_raises_formula_errors(source):
    _compiles(source)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="()[]{},.:;=+-*/%<>!~@&|'\"_ \n0123456789abcdefijnortsuxIF", max_size=120))
def test_random_formula_like_text_only_ever_raises_formula_errors(source):
    _compiles(source)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, st.fixed_dictionaries(dict.fromkeys(NAMES, field_values)))
def test_random_expressions_compile_and_evaluate_to_values_or_formula_errors(source, values):
    formula = _compiles(source)
    if formula is None:
        return
    with contextlib.suppress(FormulaError):
        formula.evaluate(values, today=TODAY, now=NOW)
    with contextlib.suppress(FormulaError):
        infer_type(formula, {"a": "integer", "b": "text", "t": "table:a:integer,b:decimal"})


@settings(max_examples=150, deadline=None)
@given(expressions)
def test_compiling_never_warns(source):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _compiles(source)
        _compiles(source.replace(" ", ""))


# --- typed fuzzing: what infer_type promises, evaluate keeps ---------------------------------

TYPED_KINDS = {
    "i": "integer",
    "m": "decimal",
    "s": "text",
    "d": "date",
    "dt": "datetime",
    "b": "boolean",
    "t": table_kind({"a": "integer", "c": "decimal"}),
}
RANGE_ERRORS = {
    TOO_LARGE,
    TEXT_TOO_LONG,
    DATE_OUT_OF_RANGE,
    "round keeps from %(low)s to %(high)s digits after the point",
}
LIMIT_WORDS = ("levels", "parts", "characters", "nested parentheses")


def _pair(kind: st.SearchStrategy[str], ops: list[str]) -> st.SearchStrategy[str]:
    return st.tuples(kind, st.sampled_from(ops), kind).map(lambda p: f"({p[0]} {p[1]} {p[2]})")


def _fn(name: str, *args: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*args).map(lambda parts: f"{name}({', '.join(parts)})")


small = st.integers(-3, 3).map(str)
integers: st.SearchStrategy[str] = st.deferred(
    lambda: st.one_of(
        st.sampled_from(["i", "0", "7", "-2", "count(t)", "sum(t, 'a')", "None"]),
        _pair(integers, ["+", "-", "*", "//", "%"]),
        integers.map(lambda e: f"({e}) ** 2"),
        _fn("len", texts),
        _fn("round", decimals),
        _fn("round", integers, small),
        _fn("abs", integers),
        _fn("year", dates),
        _fn("days_between", dates, dates),
        _fn("if", booleans, integers, integers),
        _fn("coalesce", integers, integers),
        _fn("min", integers, integers),
        st.tuples(dates, dates).map(lambda p: f"({p[0]} - {p[1]})"),
    )
)
decimals: st.SearchStrategy[str] = st.deferred(
    lambda: st.one_of(
        st.sampled_from(["m", "0.5", "-1.25", "avg(t, 'c')", "sum(t, 'c')"]),
        integers,
        _pair(decimals, ["+", "-", "*", "/", "%"]),
        _fn("round", decimals, small),
        _fn("max", decimals, integers),
        st.tuples(booleans, decimals, integers).map(lambda p: f"({p[1]} if {p[0]} else {p[2]})"),
    )
)
texts: st.SearchStrategy[str] = st.deferred(
    lambda: st.one_of(
        st.sampled_from(["s", "'abc'", "''", "None"]),
        _pair(texts, ["+"]),
        _fn("upper", texts),
        _fn("trim", texts),
        _fn("concat", texts, decimals, dates),
        _fn("coalesce", texts, texts),
    )
)
dates: st.SearchStrategy[str] = st.deferred(
    lambda: st.one_of(
        st.sampled_from(["d", "today()"]),
        _fn("add_days", dates, integers),
        _fn("add_months", dates, integers),
        st.tuples(dates, integers).map(lambda p: f"({p[0]} + {p[1]})"),
        _fn("min", dates, dates),
    )
)
datetimes = st.one_of(
    st.sampled_from(["dt", "now()"]),
    _fn("add_days", st.just("dt"), integers),
    _fn("add_months", st.just("now()"), integers),
)
booleans: st.SearchStrategy[str] = st.deferred(
    lambda: st.one_of(
        st.sampled_from(["b", "True", "False", "None"]),
        _pair(decimals, ["<", "<=", "==", "!="]),
        _pair(texts, ["==", ">"]),
        _pair(dates, ["<", "=="]),
        _pair(datetimes, [">="]),
        _pair(booleans, ["and", "or", "==", "!="]),
        booleans.map(lambda e: f"(not {e})"),
        texts.map(lambda e: f"({e} == None)"),
    )
)
INTENDED = {
    "integer": integers,
    "decimal": decimals,
    "text": texts,
    "date": dates,
    "datetime": datetimes,
    "boolean": booleans,
}
typed_values = st.fixed_dictionaries(
    {
        "i": st.one_of(st.none(), st.integers(-(10**6), 10**6)),
        "m": st.one_of(st.none(), st.decimals(-(10**6), 10**6, places=2)),
        "s": st.one_of(st.none(), st.text(max_size=5)),
        "d": st.one_of(st.none(), st.dates()),
        "dt": st.one_of(st.none(), st.datetimes()),
        "b": st.one_of(st.none(), st.booleans()),
        "t": st.lists(
            st.fixed_dictionaries(
                {
                    "a": st.one_of(st.none(), st.integers(-1000, 1000)),
                    "c": st.one_of(st.none(), st.decimals(-1000, 1000, places=3)),
                }
            ),
            max_size=3,
        ),
    }
)


def _fits(actual: str, expected: str) -> bool:
    return actual == expected or actual == "null" or (actual, expected) == ("integer", "decimal")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(INTENDED)).flatmap(
        lambda kind: st.tuples(st.just(kind), INTENDED[kind])
    ),
    typed_values,
)
def test_values_have_the_inferred_type(intended_source, values):
    intended, source = intended_source
    try:
        formula = compile_formula(source)
    except FormulaError as error:
        assert any(word in str(error) for word in LIMIT_WORDS), (source, str(error))
        return
    inferred = infer_type(formula, TYPED_KINDS)
    assert _fits(inferred, intended), (source, inferred)
    try:
        result = formula.evaluate(values, today=TODAY, now=NOW)
    except FormulaError as error:
        assert error.message in RANGE_ERRORS, (source, values, str(error))
        return
    actual = {
        bool: "boolean", int: "integer", Decimal: "decimal", str: "text", date: "date",
        datetime: "datetime", type(None): "null",
    }[type(result)]  # fmt: skip
    assert _fits(actual, inferred), (source, values, result, inferred)
