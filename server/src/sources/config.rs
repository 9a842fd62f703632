//! From a source row to what its plugin needs: the plugin itself and a [`SourceConfig`] with the
//! decrypted credential.

use std::sync::Arc;

use gatehouse_plugins::{ClientCredential, SourceConfig, SourcePlugin};
use serde_json::Value;

use crate::db::sources::SourceRow;
use crate::state::AppState;

/// Encryption contexts: a ciphertext only decrypts in the row and column it was written for.
pub fn secret_context(uuid: &str) -> String {
    format!("source:{uuid}:consumer_secret")
}

pub fn private_key_context(uuid: &str) -> String {
    format!("source:{uuid}:private_key")
}

pub fn token_context(source_uuid: &str, identifier: &str, which: &str) -> String {
    format!("connection:{source_uuid}:{identifier}:{which}")
}

/// The plugin and configuration of a source; the error is a message for the log and the page.
pub fn plugin_config(
    state: &AppState,
    row: &SourceRow,
) -> Result<(Arc<dyn SourcePlugin>, SourceConfig), String> {
    let plugin = state
        .plugins
        .get(&row.provider_type)
        .ok_or_else(|| format!("no plugin `{}` in this build", row.provider_type))?;
    let decrypt = |value: &Option<String>, context: String, what: &str| -> Result<String, String> {
        let sealed = value
            .as_deref()
            .ok_or_else(|| format!("the source has no {what}"))?;
        let bytes = state
            .keys
            .decrypt(sealed, &context)
            .map_err(|e| format!("the {what} cannot be decrypted ({e}); was secret_key changed?"))?;
        String::from_utf8(bytes).map_err(|_| format!("the {what} is not text"))
    };
    let credential = if row.client_auth == "private_key_jwt" {
        ClientCredential::PrivateKeyJwt {
            private_key_pem: decrypt(&row.private_key, private_key_context(&row.uuid), "private key")?,
            certificate_pem: row.certificate.clone().unwrap_or_default(),
        }
    } else {
        ClientCredential::Secret(decrypt(
            &row.consumer_secret,
            secret_context(&row.uuid),
            "client secret",
        )?)
    };
    Ok((plugin, config_with(row, credential, stored_settings(row))))
}

/// The settings object stored with a source (`{}` if it does not parse).
pub fn stored_settings(row: &SourceRow) -> Value {
    serde_json::from_str(&row.settings).unwrap_or_else(|_| serde_json::json!({}))
}

/// A source's configuration with the given credential and settings. Checks that need no secret
/// (URL resolution, validation, tenant rules) pass an empty one.
pub fn config_with(row: &SourceRow, credential: ClientCredential, settings: Value) -> SourceConfig {
    SourceConfig {
        slug: row.slug.clone(),
        name: row.name.clone(),
        consumer_key: row.consumer_key.clone(),
        credential,
        additional_scopes: row.additional_scopes.clone(),
        authorization_url: row.authorization_url.clone(),
        access_token_url: row.access_token_url.clone(),
        profile_url: row.profile_url.clone(),
        oidc_jwks_url: row.oidc_jwks_url.clone(),
        settings,
    }
}
