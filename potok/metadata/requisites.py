"""Russian company requisites on client cards: format and check-digit rules.

Every ``check_*`` function answers ``None`` for a valid value or an English message id
(marked with ``N_``) saying what is wrong; :func:`validate` picks the function by kind
(:data:`KINDS`, the ``requisite`` values of a stream field). Surrounding spaces are ignored
(:func:`normalise` strips them); anything else that is not an ASCII digit where a digit is
required is refused. An empty value is refused too: callers skip empty optional fields.

* INN (ИНН): 10 digits for an organisation, 12 for an individual. Check digits are weighted
  sums mod 11, then mod 10: weights 2,4,10,3,5,9,4,6,8 for the 10th digit; 7,2,4,10,3,5,9,4,6,8
  for the 11th and 3,7,2,4,10,3,5,9,4,6,8 for the 12th digit of a 12-digit INN.
* KPP (КПП): 9 characters, 4 digits, 2 digits or capital Latin letters, 3 digits.
* OGRN (ОГРН): 13 digits; the last is (the first 12 as a number mod 11) mod 10.
* OGRNIP (ОГРНИП): 15 digits; the last is (the first 14 as a number mod 13) mod 10.
* BIK (БИК): 9 digits starting with ``04``.
* Settlement account (расчётный счёт): 20 digits; with the bank's BIK, the Central Bank's
  key check: the last 3 digits of the BIK followed by the account, weighted 7,1,3,7,1,3,...,
  must sum to a multiple of 10.
* Correspondent account (корр. счёт): 20 digits starting with ``301``; the same key check
  with ``0`` and the 5th and 6th digits of the BIK in front.

The "mod 11, then mod 10" schemes (INN, OGRN) cannot tell a remainder of 10 from 0, so a
few single-digit typos in INN and OGRN pass the check; the account key catches every
single-digit typo.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from potok.errors import N_

__all__ = [
    "KINDS",
    "account_key_matches",
    "check_account",
    "check_bik",
    "check_corr_account",
    "check_inn",
    "check_kpp",
    "check_ogrn",
    "check_ogrnip",
    "normalise",
    "validate",
]

KINDS = ("inn", "kpp", "ogrn", "ogrnip", "bik", "account", "corr_account")

INN_10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_11_WEIGHTS = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_12_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
ACCOUNT_WEIGHTS = (7, 1, 3)

_DIGITS = re.compile(r"[0-9]*")
_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")


def normalise(value: str) -> str:
    """The value as stored: without surrounding spaces."""
    return value.strip()


def _digits(value: str) -> str | None:
    value = normalise(value)
    return value if _DIGITS.fullmatch(value) else None


def _weighted(digits: str, weights: Sequence[int]) -> int:
    return sum(int(digit) * weight for digit, weight in zip(digits, weights, strict=False))


def _inn_digit(digits: str, weights: Sequence[int]) -> str:
    return str(_weighted(digits, weights) % 11 % 10)


def check_inn(value: str) -> str | None:
    """An organisation's (10 digits) or an individual's (12 digits) INN."""
    digits = _digits(value)
    if digits is None:
        return N_("The INN must contain digits only")
    if len(digits) == 10:
        valid = digits[9] == _inn_digit(digits, INN_10_WEIGHTS)
    elif len(digits) == 12:
        valid = digits[10] == _inn_digit(digits, INN_11_WEIGHTS) and digits[11] == _inn_digit(
            digits, INN_12_WEIGHTS
        )
    else:
        return N_("INN must have 10 or 12 digits")
    return None if valid else N_("The INN check digits do not match: check for a typo")


def check_kpp(value: str) -> str | None:
    """A KPP: 4 digits, 2 digits or capital Latin letters, 3 digits."""
    if not _KPP.fullmatch(normalise(value)):
        return N_("KPP must have 9 characters: 4 digits, 2 digits or capital letters, 3 digits")
    return None


def _check_registration_number(value: str, length: int, modulus: int) -> bool | None:
    """None if the format is wrong, else whether the check digit matches."""
    digits = _digits(value)
    if digits is None or len(digits) != length:
        return None
    return int(digits[:-1]) % modulus % 10 == int(digits[-1])


def check_ogrn(value: str) -> str | None:
    """An organisation's primary state registration number (13 digits)."""
    valid = _check_registration_number(value, 13, 11)
    if valid is None:
        return N_("OGRN must have 13 digits")
    return None if valid else N_("The OGRN check digit does not match: check for a typo")


def check_ogrnip(value: str) -> str | None:
    """An individual entrepreneur's registration number (15 digits)."""
    valid = _check_registration_number(value, 15, 13)
    if valid is None:
        return N_("OGRNIP must have 15 digits")
    return None if valid else N_("The OGRNIP check digit does not match: check for a typo")


def check_bik(value: str) -> str | None:
    """A Russian bank identification code: 9 digits starting with 04."""
    digits = _digits(value)
    if digits is None or len(digits) != 9:
        return N_("BIK must have 9 digits")
    if not digits.startswith("04"):
        return N_("A Russian BIK starts with 04")
    return None


def account_key_matches(prefix: str, account: str) -> bool:
    """The Central Bank's key check: ``prefix + account`` weighted 7,1,3,... sums to a
    multiple of 10 (``prefix`` is three digits taken from the BIK)."""
    digits = prefix + account
    weights = ACCOUNT_WEIGHTS * (len(digits) // 3 + 1)
    return _weighted(digits, weights) % 10 == 0


def _check_account(value: str, bik: str | None, *, correspondent: bool) -> str | None:
    digits = _digits(value)
    if digits is None or len(digits) != 20:
        return N_("An account number must have 20 digits")
    if correspondent and not digits.startswith("301"):
        return N_("A correspondent account starts with 301")
    if bik is None:
        return None
    if check_bik(bik) is not None:
        return N_("The account cannot be checked: the BIK is not valid")
    bik = normalise(bik)
    prefix = "0" + bik[4:6] if correspondent else bik[6:]
    if not account_key_matches(prefix, digits):
        return N_("The account does not match the BIK: check both for a typo")
    return None


def check_account(value: str, bik: str | None = None) -> str | None:
    """A settlement account; its key is checked when the bank's ``bik`` is given."""
    return _check_account(value, bik, correspondent=False)


def check_corr_account(value: str, bik: str | None = None) -> str | None:
    """A bank's correspondent account; its key is checked when ``bik`` is given."""
    return _check_account(value, bik, correspondent=True)


_CHECKS: dict[str, Callable[[str], str | None]] = {
    "inn": check_inn,
    "kpp": check_kpp,
    "ogrn": check_ogrn,
    "ogrnip": check_ogrnip,
    "bik": check_bik,
}


def validate(kind: str, value: str, *, bik: str | None = None) -> str | None:
    """Check ``value`` as a requisite of ``kind`` (one of :data:`KINDS`); ``bik`` is used
    for the account kinds only. Raises ``ValueError`` for an unknown kind."""
    if kind == "account":
        return check_account(value, bik)
    if kind == "corr_account":
        return check_corr_account(value, bik)
    if kind not in _CHECKS:
        raise ValueError(f"unknown requisite kind {kind!r}; expected one of {KINDS}")
    return _CHECKS[kind](value)
