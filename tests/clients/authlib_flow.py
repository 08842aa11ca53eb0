"""The authorization code flow with PKCE (S256) as Python's authlib runs it, against the served
token function: discovery, the authorization URL, the sign-in form posted as a browser would
(the user types the password), the code exchange, RFC 9207's `iss`, the ID token validated by
authlib's OpenID Connect rules (signature, iss, aud, exp, nonce, at_hash) when the scope asks
for one, and a refresh. Prints one JSON object of what it found; any failure exits non-zero.

Run by tests/it/code_flow/clients.rs:
  python authlib_flow.py ISSUER CLIENT_ID REDIRECT_URI USERNAME PASSWORD SCOPE
"""

import json
import re
import sys
import warnings
from html import unescape
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

warnings.simplefilter("ignore")  # authlib.jose announces its successor; it still validates.


def sign_in(authorization_url, username, password):
    """What the browser does: open the page, post the form with the page's cookie."""
    page = requests.get(authorization_url, allow_redirects=False, timeout=60)
    assert page.status_code == 200, (page.status_code, page.text[:300])
    field = re.search(r'name="request" value="([^"]*)"', page.text)
    assert field, "no sign-in form"
    action = re.search(r'<form method="post" action="([^"]*)"', page.text)
    # The cookie is Secure: requests keeps it from plain http, a browser on loopback does not.
    cookie = page.headers["set-cookie"].split(";")[0]
    posted = requests.post(
        unescape(action.group(1)),
        data={"request": unescape(field.group(1)), "username": username, "password": password},
        headers={"Cookie": cookie},
        allow_redirects=False,
        timeout=60,
    )
    assert posted.status_code == 303, (posted.status_code, posted.text[:300])
    return posted.headers["location"]


def validate_id_token(token, meta, client_id, nonce):
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken

    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=60).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": meta["issuer"]},
            "aud": {"essential": True, "value": client_id},
        },
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    return dict(claims)


def main(issuer, client_id, redirect_uri, username, password, scope):
    base = issuer.rstrip("/")
    meta = requests.get(base + "/.well-known/oauth-authorization-server", timeout=60).json()
    assert meta["issuer"] == issuer
    assert "S256" in meta["code_challenge_methods_supported"]
    session = OAuth2Session(
        client_id,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    assert "code_challenge=" in url and "code_challenge_method=S256" in url, url
    location = sign_in(url, username, password)
    returned = parse_qs(urlsplit(location).query)
    assert returned["iss"] == [issuer], returned  # RFC 9207: answered by the server asked
    assert returned["state"] == [state], returned
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier, state=state
    )
    found = {
        "token_type": token["token_type"],
        "scope": token.get("scope"),
        "has_refresh_token": bool(token.get("refresh_token")),
        "access_token": token["access_token"],
    }
    if "id_token" in token:
        found["id_token_claims"] = validate_id_token(token, meta, client_id, nonce)
    refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    found["refreshed"] = refreshed["refresh_token"] != token["refresh_token"]
    print(json.dumps(found))


if __name__ == "__main__":
    main(*sys.argv[1:7])
