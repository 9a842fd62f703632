"""A relying party built on Authlib (PyPI), run against a live Gatehouse by the Rust test
`provider::interop`. It does what a real application does: discovery, the authorization code
flow with PKCE (S256), ID-token validation against the published JWKS, userinfo and a token
refresh. The browser part (an already signed-in Gatehouse session) comes from the test as a
cookie header; everything OAuth is Authlib's own code.

Usage: authlib_rp.py <issuer> <client_id> <client_secret> <redirect_uri> <cookie header>
Prints one JSON object with what it saw; exits non-zero on any failure.
"""

import json
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.common.security import generate_token


def main() -> None:
    issuer, client_id, client_secret, redirect_uri, cookie = sys.argv[1:6]
    metadata = requests.get(issuer + ".well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == issuer, metadata

    session = OAuth2Session(
        client_id,
        client_secret,
        scope="openid profile email offline_access",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )

    # The browser: follow Gatehouse's redirects with the session cookie until the application.
    browser = requests.Session()
    location = url
    for _ in range(10):
        answer = browser.get(location, headers={"Cookie": cookie}, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), (answer.status_code, answer.text[:500])
        location = answer.headers["Location"]
        if location.startswith("/"):
            location = issuer.split("/application/")[0] + location
        if location.startswith(redirect_uri):
            break
    else:
        raise AssertionError("never reached the redirect URI")

    token = session.fetch_token(
        metadata["token_endpoint"],
        authorization_response=location,
        state=state,
        code_verifier=verifier,
    )
    jwks = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "nonce": {"essential": True, "value": nonce},
        },
    )
    claims.validate()

    userinfo = session.get(metadata["userinfo_endpoint"]).json()
    assert userinfo["sub"] == claims["sub"], (userinfo, dict(claims))

    refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    refreshed_claims = jwt.decode(
        refreshed["id_token"], jwks, claims_options={"iss": {"value": issuer}, "aud": {"value": client_id}}
    )
    refreshed_claims.validate()
    again = session.get(metadata["userinfo_endpoint"]).json()

    print(
        json.dumps(
            {
                "sub": claims["sub"],
                "preferred_username": claims.get("preferred_username"),
                "email": claims.get("email"),
                "userinfo_sub": userinfo["sub"],
                "refreshed_sub": again["sub"],
            }
        )
    )


if __name__ == "__main__":
    main()
