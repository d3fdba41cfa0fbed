"""The ward's rules, pure: no I/O, no clock but the one passed in, no database, no network.

Owns: the wire models (`wire`: every JSON body, validated by pydantic), a bed's patch (parse and apply),
patient identity checks, NEWS2, the privacy filter (redact), log offsets and ETags, the ward view (board)
and number parsing.
May import: the standard library, pydantic, `whiteboard.types` and `whiteboard.errors`. Nothing else of the
project imports into here; everything else may import from here.
"""
