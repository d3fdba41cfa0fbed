"""Every JSON body on the wire, once, as a typed model; the parsers and the OpenAPI document derive from them.

Owns: the vocabularies and limits of the wire (`values`), request bodies (`requests`), answers (`answers`),
validation errors as the contract's refusals (`refusal`) and the OpenAPI components (`schema`).
May import: pydantic, the standard library, `whiteboard.errors` and the domain's value rules (`clock`,
`offsets`, `patient`). The rules that use these models (`beds`, `news2`) import from here, never the reverse.
"""
