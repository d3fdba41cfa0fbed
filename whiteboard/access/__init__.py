"""Who may do what: bearer tokens and `Principal` (`auth`), staff accounts and sessions (`accounts`),
paired kiosk displays (`kiosks`), OpenID Connect sign-in (`oidc`), rate limits (`limits`) and the
navigation each role sees (`nav`).

May import: `whiteboard.store` (its public names), `whiteboard.domain`, `whiteboard.settings`,
`whiteboard.errors`, `whiteboard.types`. Never web or live.
"""
