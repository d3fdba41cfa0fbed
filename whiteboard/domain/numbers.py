"""Whole numbers from client text, bounded before conversion.

`int()` refuses strings over Python's 4,300-digit conversion limit with a ValueError, and accepts
Unicode digits ('٣') and `_` separators the wire never means; a client's digits therefore pass through
`whole_number`, which looks at the length and the characters first and never raises.
"""

from __future__ import annotations

from typing import Final

# 18 digits hold every count, limit and sequence number the server keeps (a signed 64-bit column holds 19).
MAX_DIGITS: Final = 18


def whole_number(text: str | None, max_digits: int = MAX_DIGITS) -> int | None:
    """The non-negative integer `text` spells in ASCII digits, or None when it is anything else or too long."""
    if text is None or not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
