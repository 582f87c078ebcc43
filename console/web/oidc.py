"""Single sign-on with OpenID Connect: the authorization code flow with PKCE and a nonce.

Configured by `IDMFLOW_OIDC_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET` (and the claims that hold
the account name and the roles). The login page then offers "Log in with single sign-on";
the provider's ID token is checked with Authlib's JOSE library (joserfc): signature against
the provider's published keys, issuer, audience, expiry and our nonce. The person's console
account is made or updated from the token (name, email, the roles of the roles claim that
the console knows), and a console session starts as after a password login. A local account
with a password is never taken over by a token naming it.

The state, nonce and PKCE verifier wait for the provider's answer in a signed cookie of ours
that lives 10 minutes: the host's session is not used here either. Discovery and keys are
fetched with the standard library (no HTTP client dependency) and kept per app.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from base64 import b64encode
from typing import Any

from flask import current_app, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import BadRequest, Forbidden
from werkzeug.wrappers import Response

from idmflow.engine import IdmflowError, InputError
from idmflow.engine.config import Oidc
from idmflow.storage.accounts import provision_external
from idmflow.storage.database import write_transaction

from ..accounts import ROLES
from ..passwords import check_username
from .access import cookie_options, log_in, safe_next
from .auth import audit, auth
from .extension import console, engine

COOKIE = "idmflow_oidc"
WAIT_SECONDS = 600
TIMEOUT = 10.0


def _config() -> Oidc:
    oidc = console().settings.oidc
    if oidc is None:
        raise Forbidden("Single sign-on is not configured (IDMFLOW_OIDC_ISSUER).")
    return oidc


def _fetch(url: str, data: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    call = urllib.request.Request(url, data=body, headers={"Accept": "application/json",
                                                            **(headers or {})})
    try:
        with urllib.request.urlopen(call, timeout=TIMEOUT) as response:  # noqa: S310
            found = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise IdmflowError(f"the single sign-on provider did not answer at {url} ({exc}); "
                           "try again, or log in with your password") from exc
    if not isinstance(found, dict):
        raise IdmflowError(f"the single sign-on provider answered {url} with no JSON object")
    return found


def _metadata(oidc: Oidc) -> dict[str, Any]:
    cache: dict[str, Any] = current_app.extensions.setdefault("idmflow_oidc", {})
    if "metadata" not in cache:
        found = _fetch(oidc.issuer + "/.well-known/openid-configuration")
        if found.get("issuer", "").rstrip("/") != oidc.issuer:
            raise IdmflowError(f"the provider at {oidc.issuer} names itself "
                               f"{found.get('issuer')!r}; set IDMFLOW_OIDC_ISSUER to that")
        cache["metadata"] = found
    metadata: dict[str, Any] = cache["metadata"]
    return metadata


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.secret_key), salt="idmflow-oidc")


def _callback_url() -> str:
    return url_for("auth.oidc_callback", _external=True)


@auth.get("/login/sso")
def oidc_login() -> Response:
    """Send the browser to the provider, remembering what its answer must match."""
    from authlib.common.security import generate_token  # type: ignore[import-untyped]
    from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

    oidc = _config()
    waiting = {"state": generate_token(32), "nonce": generate_token(32),
               "verifier": generate_token(64), "next": safe_next(request.args.get("next"))}
    asked = {
        "response_type": "code", "client_id": oidc.client_id, "redirect_uri": _callback_url(),
        "scope": "openid profile email", "state": waiting["state"], "nonce": waiting["nonce"],
        "code_challenge": create_s256_code_challenge(waiting["verifier"]),
        "code_challenge_method": "S256"}
    if request.args.get("reauth"):
        # confirming a sensitive action: the provider must ask again, not reuse its session
        asked.update(prompt="login", max_age="0")
    query = urllib.parse.urlencode(asked)
    response = redirect(f"{_metadata(oidc)['authorization_endpoint']}?{query}")
    response.set_cookie(COOKIE, _serializer().dumps(waiting), max_age=WAIT_SECONDS,
                        **cookie_options())
    return response


def _claims(oidc: Oidc, code: str, waiting: dict[str, str]) -> dict[str, Any]:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    metadata = _metadata(oidc)
    basic = b64encode(f"{urllib.parse.quote(oidc.client_id)}:"
                      f"{urllib.parse.quote(oidc.client_secret)}".encode()).decode()
    tokens = _fetch(metadata["token_endpoint"], {
        "grant_type": "authorization_code", "code": code, "redirect_uri": _callback_url(),
        "code_verifier": waiting["verifier"]}, {"Authorization": f"Basic {basic}"})
    if "id_token" not in tokens:
        raise BadRequest(f"The provider sent no ID token ({tokens.get('error', 'no reason')}).")
    keys = KeySet.import_key_set(_fetch(metadata["jwks_uri"]))  # type: ignore[arg-type]
    try:
        token = jwt.decode(tokens["id_token"], keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": oidc.issuer},
            aud={"essential": True, "value": oidc.client_id},
            nonce={"essential": True, "value": waiting["nonce"]},
            sub={"essential": True}).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise BadRequest(f"The provider's ID token was refused ({exc}).") from exc
    claims: dict[str, Any] = token.claims
    return claims


@auth.get("/login/sso/callback")
def oidc_callback() -> Response:
    """The provider's answer: check it, make or update the account, start a session."""
    oidc = _config()
    try:
        waiting = _serializer().loads(request.cookies.get(COOKIE, ""), max_age=WAIT_SECONDS)
    except BadSignature:
        raise BadRequest("This single sign-on answer came after 10 minutes or from another "
                         "browser; log in again.") from None
    if request.args.get("state") != waiting["state"]:
        raise BadRequest("This single sign-on answer does not belong to this login; log in "
                         "again.")
    if "code" not in request.args:
        raise Forbidden(f"The provider did not log you in "
                        f"({request.args.get('error', 'no reason given')}).")
    claims = _claims(oidc, request.args["code"], waiting)
    username = str(claims.get(oidc.username_claim) or "")
    try:
        check_username(username)
    except InputError as exc:
        raise Forbidden(f"The provider's {oidc.username_claim} claim is no account name: "
                        f"{exc}") from None
    granted = claims.get(oidc.roles_claim) or []
    roles = sorted({r for r in granted if r in ROLES}) if isinstance(granted, list) else []
    with write_transaction(engine().db) as conn:
        made = provision_external(conn, username, email=str(claims.get("email") or ""),
                                  roles=roles, now=engine().clock.now())
    account = engine().accounts.get(username) if made else None
    if account is None:
        audit("login_failed", username, via="oidc")
        raise Forbidden(f"Account {username} is a local or disabled account: log in with its "
                        "password, or ask an admin.")
    log_in(account)
    audit("login", username, via="oidc", issuer=oidc.issuer)
    response = redirect(waiting.get("next") or url_for("auth.index"))
    response.delete_cookie(COOKIE, **cookie_options())
    return response
