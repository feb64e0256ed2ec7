"""BSN elfproef."""

from __future__ import annotations

import random

import pytest

from app.cases.bsn import is_valid_bsn, mask_bsn, normalise_bsn
from app.demo.world import make_bsn


@pytest.mark.parametrize("bsn", ["111222333", "123456782", "999999990"])
def test_valid_bsns_pass(bsn: str) -> None:
    assert is_valid_bsn(bsn)


@pytest.mark.parametrize(
    "bsn", ["123456789", "111222334", "000000000", "12345678", "1234567890", "12345678a", ""]
)
def test_invalid_bsns_fail(bsn: str) -> None:
    assert not is_valid_bsn(bsn)


def test_spreadsheet_dropped_leading_zero_is_restored() -> None:
    assert normalise_bsn("12345672") == "012345672"
    assert normalise_bsn(" 111 222 333 ") == "111222333"


def test_generated_demo_bsns_all_pass() -> None:
    rng = random.Random(1)
    assert all(is_valid_bsn(make_bsn(rng)) for _ in range(500))


def test_masking_keeps_only_the_last_four() -> None:
    assert mask_bsn("111222333") == "•••••2333"
