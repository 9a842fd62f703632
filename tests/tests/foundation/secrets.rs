//! No secret setting is printed by `Debug` (log lines, panic messages).

use gatehouse::config::{Secret, Settings};
use gatehouse::db::DatabaseUrl;

#[test]
fn settings_debug_masks_every_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::Postgres("postgres://gh:db-password-5150@db.example/gh".into());
    let mut settings = Settings::for_database(&url, dir.path()).unwrap();
    settings.secret_key = Some("secret-key-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into());
    settings.bootstrap_token = Some("bootstrap-token-bbbbbbbbbbbb".into());
    settings.bootstrap_password = Some("bootstrap-password-cccc".into());
    settings.metrics_token = Some(Secret::from("metrics-token-dddddddddddd"));
    for text in [format!("{settings:?}"), format!("{settings:#?}")] {
        for secret in [
            "aaaaaaaaaaaa",
            "bbbbbbbbbbbb",
            "cccc",
            "dddddddddddd",
            "db-password-5150",
        ] {
            assert!(!text.contains(secret), "{secret} printed in {text}");
        }
        assert!(text.contains("********"), "{text}");
    }
    let secret = Secret::from("plain-secret-value");
    assert_eq!(format!("{secret} {secret:?}"), "******** ********");
    assert_eq!(secret.expose(), "plain-secret-value");
}
