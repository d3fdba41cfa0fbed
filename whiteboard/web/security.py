"""One set of security headers on every HTTP answer, page, API, error or file alike (ASVS V3/V14): no framing,
no sniffing, no cross-origin referrer or embedding, no powerful browser features, a strict CSP (no inline
script), HSTS over TLS, and nothing stored in a cache unless the answer says so (patient data is the default).

`edge.Edge` imposes the set, not defaults it: an endpoint cannot send a weaker policy by accident. Only
`Cache-Control` is the endpoint's to choose (static files are immutable under versioned URLs).
"""

from __future__ import annotations

from typing import Final

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS: Final = "max-age=31536000; includeSubDomains"
# Nothing here uses a camera, microphone, location, payment, USB or motion sensor: deny them to any script.
PERMISSIONS_POLICY: Final = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)
# `same-origin` (not `no-referrer`): a browser then sends `Origin` and `Referer` on our own form posts, which
# the sign-in CSRF check relies on, and never a URL to another site.
HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}
# Identifiable data must never rest in a browser or proxy cache; answers that may be cached say so.
DEFAULT_CACHE_CONTROL: Final = "no-store"
