//! A relying party nobody here wrote: Python's Authlib (from PyPI) runs discovery, the code flow
//! with PKCE, ID-token validation against the JWKS, userinfo and a refresh against Gatehouse.
//! Skipped (and said so) when Authlib is not installed, unless GATEHOUSE_REQUIRE_INTEROP=1, which
//! `.ci/run` sets after installing it.

use serde_json::{Value, json};

use super::*;

fn authlib_available() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import authlib, requests"])
        .status()
        .is_ok_and(|s| s.success());
    if !found && std::env::var("GATEHOUSE_REQUIRE_INTEROP").as_deref() == Ok("1") {
        panic!("GATEHOUSE_REQUIRE_INTEROP=1 but python3 cannot import authlib and requests");
    }
    found
}

crate::entra_test!(authlib_relying_party, |_source| {}, |env| {
    if !authlib_available() {
        gatehouse_testkit::skipped("authlib", module_path!());
        return;
    }
    let rp = create_rp(&env, "python-app", json!({})).await;
    let browser = signed_in(&env).await;
    let me = browser.clone().me().await["user"].clone();
    let cookie = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/authlib_rp.py");
    let issuer = env.server.url("/application/o/python-app/");
    let secret = rp.client_secret.clone().unwrap();
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .args([
            issuer.as_str(),
            rp.client_id.as_str(),
            secret.as_str(),
            REDIRECT,
            cookie.as_str(),
        ])
        // The test server speaks plain HTTP on loopback.
        .env("AUTHLIB_INSECURE_TRANSPORT", "1")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "authlib relying party failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["sub"], me["uuid"]);
    assert_eq!(seen["preferred_username"], me["username"]);
    assert_eq!(seen["userinfo_sub"], me["uuid"]);
    assert_eq!(seen["refreshed_sub"], me["uuid"]);
});
