"""Requisites and phone numbers for demo clients that pass the checks of
:mod:`potok.metadata.requisites`: INNs unique per client number, KPP, OGRN, bank accounts
keyed to their bank's BIK."""

from __future__ import annotations

import random
from collections.abc import Sequence

from potok.metadata.requisites import INN_10_WEIGHTS, INN_11_WEIGHTS, INN_12_WEIGHTS


def _check_digit(digits: str, weights: Sequence[int]) -> str:
    """An INN check digit (the metadata's own, ``requisites._inn_digit``, is private)."""
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10)


def inn(number: int, seed: int, region: str, sole_trader: bool) -> str:
    """A valid INN, unique per ``number`` (a bijection of it), starting with the region's tax
    code: 10 digits for an organisation, 12 for a sole trader."""
    serial = (number * 7_654_321 + seed * 1_000_003) % 10**8
    if not sole_trader:
        digits = f"{region}{serial % 10**7:07d}"
        return digits + _check_digit(digits, INN_10_WEIGHTS)
    digits = f"{region}{serial:08d}"
    digits += _check_digit(digits, INN_11_WEIGHTS)
    return digits + _check_digit(digits, INN_12_WEIGHTS)


def ogrn(year: int, inn: str) -> str:
    digits = f"1{year % 100:02d}{inn[:4]}{inn[4:9]}"
    return digits + str(int(digits) % 11 % 10)


def account_key(prefix: str, account: str) -> str:
    """``account`` with its key digit (the 9th) set so the Central Bank's check passes."""
    digits = prefix + account
    weights = (7, 1, 3) * 8
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=False))
    key = (-total * 7) % 10  # the key's weight is 3, and 3 * 7 = 1 (mod 10)
    return account[:8] + str(key) + account[9:]


def bank(rng: random.Random, banks: Sequence[str], number: int) -> dict[str, str]:
    position = rng.randrange(len(banks))
    bik = f"0445250{position + 10:02d}"
    return {
        "bank": banks[position],
        "bik": bik,
        "corr_account": account_key("0" + bik[4:6], f"301018100{0:08d}{bik[-3:]}"),
        "account": account_key(bik[-3:], f"407028100{(number * 7_919 + 104_729) % 10**11:011d}"),
    }


def phone(rng: random.Random, language: str, *, mobile: bool) -> str:
    if language == "ru":
        code = f"9{rng.randint(10, 99)}" if mobile else rng.choice(("495", "499", "812", "343"))
        return f"+7 ({code}) {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
    return f"+1 ({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
