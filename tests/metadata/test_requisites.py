"""Russian requisites: published valid examples, wrong lengths and characters, every
single-digit typo, and generated numbers whose check digits are computed independently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potok.metadata import requisites
from potok.metadata.requisites import (
    KINDS,
    check_account,
    check_bik,
    check_corr_account,
    check_inn,
    check_kpp,
    check_ogrn,
    check_ogrnip,
    normalise,
    validate,
)

SBERBANK_BIK = "044525225"
TBANK_BIK = "044525974"
SPB_BIK = "044030653"  # Sberbank's North-West bank: other digits 5-6, so another key

# Requisites published on the banks' and companies' own sites and in the state register.
PUBLISHED = [
    ("inn", "7707083893", None),  # Sberbank
    ("kpp", "773601001", None),  # Sberbank
    ("ogrn", "1027700132195", None),  # Sberbank
    ("bik", SBERBANK_BIK, None),  # Sberbank
    ("corr_account", "30101810400000000225", SBERBANK_BIK),  # Sberbank
    ("inn", "7710140679", None),  # T-Bank
    ("ogrn", "1027739642281", None),  # T-Bank
    ("bik", TBANK_BIK, None),  # T-Bank
    ("corr_account", "30101810145250000974", TBANK_BIK),  # T-Bank
    ("bik", SPB_BIK, None),  # Sberbank, St Petersburg
    ("corr_account", "30101810500000000653", SPB_BIK),  # Sberbank, St Petersburg
    ("inn", "7736207543", None),  # Yandex
    ("ogrn", "1027700229193", None),  # Yandex
    ("inn", "500100732259", None),  # an individual, the usual textbook example
    ("ogrnip", "304500116000157", None),  # an entrepreneur, the usual textbook example
]


# --- an independent implementation, written the way the regulations describe it -------------


def inn_digit(digits: str, weights: tuple[int, ...]) -> int:
    """Tax Code order: the weighted sum, its remainder from 11, and 0 for a remainder of 10."""
    remainder = sum(w * int(d) for w, d in zip(weights, digits, strict=False)) % 11
    return 0 if remainder == 10 else remainder


W10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
W11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
W12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn_is_valid(value: str) -> bool:
    if len(value) == 10:
        return inn_digit(value, W10) == int(value[9])
    return inn_digit(value, W11) == int(value[10]) and inn_digit(value, W12) == int(value[11])


def registration_digit(body: str, modulus: int) -> int:
    return int(str(int(body) % modulus)[-1])


def account_key(prefix: str, account: str) -> int:
    """The Bank of Russia's procedure: with the key digit (the 9th) set to 0, add up the
    last digits of the products by 7,1,3,..., and the key is the last digit of 3 × the last
    digit of that sum."""
    digits = prefix + account[:8] + "0" + account[9:]
    weights = ([7, 1, 3] * 8)[:23]
    total = sum(int(d) * w % 10 for d, w in zip(digits, weights, strict=True))
    return total % 10 * 3 % 10


def with_key(prefix: str, account: str) -> str:
    return account[:8] + str(account_key(prefix, account)) + account[9:]


def flips(value: str) -> list[str]:
    return [
        value[:i] + digit + value[i + 1 :]
        for i in range(len(value))
        for digit in "0123456789"
        if digit != value[i]
    ]


# --- published examples --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "bik"), PUBLISHED, ids=[f"{k} {v}" for k, v, _ in PUBLISHED]
)
def test_published_requisites_are_valid(kind, value, bik):
    assert validate(kind, value, bik=bik) is None


@pytest.mark.parametrize(("kind", "value", "bik"), PUBLISHED, ids=[f"{k}" for k, _, _ in PUBLISHED])
def test_surrounding_spaces_are_accepted(kind, value, bik):
    assert validate(kind, f"  {value}\t\n", bik=bik) is None
    assert normalise(f" {value} ") == value


def test_published_numbers_agree_with_the_independent_implementation():
    assert inn_is_valid("7707083893")
    assert inn_is_valid("500100732259")
    assert registration_digit("102770013219", 11) == 5
    assert registration_digit("30450011600015", 13) == 7
    assert account_key("0" + SBERBANK_BIK[4:6], "30101810400000000225") == 4
    assert account_key("0" + TBANK_BIK[4:6], "30101810145250000974") == 1


SETTLEMENT = [
    ("40702810938000000001", SBERBANK_BIK),
    ("40702810238000000001", TBANK_BIK),
    ("40817810899910004312", SBERBANK_BIK),
    ("40702810200000000001", SBERBANK_BIK),
]


@pytest.mark.parametrize(("account", "bik"), SETTLEMENT, ids=[a for a, _ in SETTLEMENT])
def test_settlement_accounts_with_a_computed_key(account, bik):
    assert account == with_key(bik[-3:], account)
    assert check_account(account, bik) is None
    assert validate("account", account, bik=bik) is None


# --- wrong lengths and characters ---------------------------------------------------------

WRONG = [
    ("inn", "", "INN must have 10 or 12 digits"),
    ("inn", "770708389", "INN must have 10 or 12 digits"),
    ("inn", "77070838930", "INN must have 10 or 12 digits"),
    ("inn", "7707083893000", "INN must have 10 or 12 digits"),
    ("inn", "77070838a3", "The INN must contain digits only"),
    ("inn", "7707 083893", "The INN must contain digits only"),
    ("inn", "-707083893", "The INN must contain digits only"),
    ("inn", "７７０７０８３８９３", "The INN must contain digits only"),  # fullwidth digits
    ("inn", "٧٧٠٧٠٨٣٨٩٣", "The INN must contain digits only"),  # Arabic-Indic digits
    ("inn", "7707083894", "The INN check digits do not match: check for a typo"),
    ("inn", "500100732258", "The INN check digits do not match: check for a typo"),
    ("inn", "500100732269", "The INN check digits do not match: check for a typo"),
    ("kpp", "77360100", "KPP must have 9 characters"),
    ("kpp", "7736010011", "KPP must have 9 characters"),
    ("kpp", "7736ab001", "KPP must have 9 characters"),
    ("kpp", "773A01001", "KPP must have 9 characters"),
    ("kpp", "7736010A1", "KPP must have 9 characters"),
    ("kpp", "7736ЯЯ001", "KPP must have 9 characters"),
    ("ogrn", "102770013219", "OGRN must have 13 digits"),
    ("ogrn", "10277001321950", "OGRN must have 13 digits"),
    ("ogrn", "102770013219O", "OGRN must have 13 digits"),
    ("ogrn", "1027700132194", "The OGRN check digit does not match: check for a typo"),
    ("ogrnip", "30450011600015", "OGRNIP must have 15 digits"),
    ("ogrnip", "1027700132195", "OGRNIP must have 15 digits"),
    ("ogrnip", "304500116000158", "The OGRNIP check digit does not match: check for a typo"),
    ("bik", "04452522", "BIK must have 9 digits"),
    ("bik", "0445252250", "BIK must have 9 digits"),
    ("bik", "04452522S", "BIK must have 9 digits"),
    ("bik", "144525225", "A Russian BIK starts with 04"),
    ("account", "4070281093800000000", "An account number must have 20 digits"),
    ("account", "407028109380000000011", "An account number must have 20 digits"),
    ("account", "4070281093800000000l", "An account number must have 20 digits"),
    ("corr_account", "3010181040000000022", "An account number must have 20 digits"),
    ("corr_account", "40101810400000000225", "A correspondent account starts with 301"),
]


@pytest.mark.parametrize(
    ("kind", "value", "message"), WRONG, ids=[f"{k} {v!r}" for k, v, _ in WRONG]
)
def test_wrong_values_are_explained(kind, value, message):
    assert (validate(kind, value) or "").startswith(message)


def test_kpp_takes_two_capital_letters_or_digits_in_the_middle():
    assert check_kpp("7736AB001") is None
    assert check_kpp("773645001") is None


def test_accounts_are_checked_against_the_bik_only_when_it_is_given():
    assert check_account("40702810038000000001") is None
    assert check_account("40702810038000000001", SBERBANK_BIK) == (
        "The account does not match the BIK: check both for a typo"
    )
    assert check_account("40702810938000000001", "12345") == (
        "The account cannot be checked: the BIK is not valid"
    )
    assert check_account("40702810938000000001", f" {SBERBANK_BIK} ") is None
    assert check_corr_account("30101810400000000225", SPB_BIK) == (
        "The account does not match the BIK: check both for a typo"
    )
    assert check_corr_account("30101810400000000225") is None


# --- typos ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "bik"),
    [case for case in PUBLISHED if case[0] in {"inn", "ogrn", "ogrnip", "corr_account"}]
    + [("account", account, bik) for account, bik in SETTLEMENT],
    ids=lambda case: str(case),
)
def test_every_single_digit_typo_in_the_examples_is_caught(kind, value, bik):
    missed = [typo for typo in flips(value) if validate(kind, typo, bik=bik) is None]
    assert missed == []


@pytest.mark.parametrize(("account", "bik"), SETTLEMENT, ids=[a for a, _ in SETTLEMENT])
def test_a_typo_in_the_bik_is_caught_by_the_account_key(account, bik):
    typos = [typo for typo in flips(bik) if typo.startswith("04") and typo[-3:] != bik[-3:]]
    assert typos
    assert all(check_account(account, typo) is not None for typo in typos)


def test_the_mod_11_schemes_cannot_tell_a_remainder_of_10_from_0():
    """A known weakness of the INN and OGRN schemes, shown so nobody expects more of them:
    remainders 10 and 0 both give the check digit 0, so a few single-digit typos pass."""
    inns = (body + str(inn_digit(body, W10)) for body in (f"{n:09d}" for n in range(10**5)))
    inn, typo = next((inn, typo) for inn in inns for typo in flips(inn) if inn_is_valid(typo))
    assert check_inn(inn) is None
    assert check_inn(typo) is None
    assert inn[-1] == typo[-1] == "0"
    assert sum(a != b for a, b in zip(inn, typo, strict=True)) == 1


# --- dispatch ------------------------------------------------------------------------------


def test_kinds_match_the_stream_schema():
    schema = json.loads(
        (Path(requisites.__file__).parent / "schemas" / "stream.schema.json").read_text("utf-8")
    )
    assert list(KINDS) == schema["$defs"]["requisite"]["enum"]


def test_validate_dispatches_every_kind_and_refuses_unknown_ones():
    checks = {
        "inn": check_inn,
        "kpp": check_kpp,
        "ogrn": check_ogrn,
        "ogrnip": check_ogrnip,
        "bik": check_bik,
        "account": check_account,
        "corr_account": check_corr_account,
    }
    assert set(checks) == set(KINDS)
    for kind, check in checks.items():
        assert validate(kind, "x") == check("x")
        assert validate(kind, "x") is not None
    with pytest.raises(ValueError, match="unknown requisite kind"):
        validate("snils", "112-233-445 95")


# --- generated numbers ---------------------------------------------------------------------


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=count, max_size=count)


@given(_digits(9))
def test_generated_organisation_inns_are_valid(body):
    assert check_inn(body + str(inn_digit(body, W10))) is None


@given(_digits(10))
def test_generated_individual_inns_are_valid(body):
    eleven = body + str(inn_digit(body, W11))
    assert check_inn(eleven + str(inn_digit(eleven, W12))) is None


@given(_digits(10) | _digits(12))
def test_any_inn_is_valid_exactly_when_the_independent_check_says_so(value):
    assert (check_inn(value) is None) == inn_is_valid(value)


@given(_digits(12))
def test_generated_ogrns_are_valid(body):
    assert check_ogrn(body + str(registration_digit(body, 11))) is None


@given(_digits(14))
def test_generated_ogrnips_are_valid(body):
    assert check_ogrnip(body + str(registration_digit(body, 13))) is None


@given(_digits(13) | _digits(15))
def test_any_registration_number_is_valid_exactly_when_the_independent_check_says_so(value):
    modulus = 11 if len(value) == 13 else 13
    expected = registration_digit(value[:-1], modulus) == int(value[-1])
    assert (validate("ogrn" if len(value) == 13 else "ogrnip", value) is None) == expected


@given(_digits(7), _digits(20))
def test_generated_accounts_are_valid_and_every_typo_is_caught(bik_tail, number):
    bik = "04" + bik_tail
    account = with_key(bik[-3:], number)
    corr = with_key("0" + bik[4:6], "301" + number[3:])
    assert check_account(account, bik) is None
    assert check_corr_account(corr, bik) is None
    assert all(check_account(typo, bik) is not None for typo in flips(account))


@given(_digits(7), _digits(20))
def test_any_account_is_valid_exactly_when_the_independent_key_says_so(bik_tail, account):
    bik = "04" + bik_tail
    expected = account_key(bik[-3:], account) == int(account[8])
    assert (check_account(account, bik) is None) == expected
