"""CSRF tokens of the forms that change something: an HMAC under the server's secret of a secret the
browser already holds in an HttpOnly cookie, so another site can neither read nor forge the form's token.

Signed in, a form's token is bound to the session's token. The sign-in form has no session yet (a forged
sign-in would sign the victim in as the attacker), so it is bound to a random pre-session cookie set with
the form (`SIGNIN_COOKIE`). Nothing is stored: the check recomputes the HMAC. SameSite=Lax on both cookies
is the second layer, not the only one.
"""

from __future__ import annotations

import hashlib
import hmac

FIELD = "csrf"  # the hidden field of every form that changes something
SIGNIN_COOKIE = "crowdexports_signin"
SIGNIN_COOKIE_SECONDS = 3600  # a sign-in form left open longer asks again


def token(secret: str, purpose: str, bound_to: str) -> str:
    """The form token for `purpose` ("session" or "signin") bound to the cookie secret `bound_to`."""
    message = f"csrf:v1:{purpose}:{bound_to}".encode("utf-8", "surrogatepass")
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def valid(secret: str, purpose: str, bound_to: str | None, presented: object) -> bool:
    """Whether `presented` (a form value) is the token of `bound_to`; never with no cookie."""
    if not bound_to or not isinstance(presented, str):
        return False
    return hmac.compare_digest(token(secret, purpose, bound_to), presented)
