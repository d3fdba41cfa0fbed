"""The NHS number rule, written once: ten ASCII digits whose last is the modulus-11 check digit of the others."""

from __future__ import annotations

import pytest

from whiteboard.domain.patient import nhs_check_digit, nhs_number_valid


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "9990000018"])
def test_known_valid_nhs_numbers(number: str) -> None:
    # 943 476 5919 is the NHS Data Dictionary's worked example.
    assert nhs_number_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # wrong check digit
        "9434765910",
        "1234567890",  # check digit would be 10: never issued
        "943476591",  # too short
        "94347659190",  # too long
        "94347659l9",
        "943-476-5919",
        "943 476 5919",  # spaces are the parser's to remove (beds.parse_patch), not part of the number
        "9434765919\n",  # a trailing newline is not a digit
        "",
        "９４３４７６５９１９",  # full-width digits are not ASCII
    ],
)
def test_invalid_nhs_numbers(number: str) -> None:
    assert not nhs_number_valid(number)


def test_the_check_digit_of_a_stem() -> None:
    assert nhs_check_digit("943476591") == 9
    assert nhs_check_digit("401023213") == 7
    assert nhs_check_digit("123456789") is None  # 10: no number is issued with this stem
