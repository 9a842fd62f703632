//! The `sources` table: federated identity providers (Entra ID and other OAuth/OIDC sources).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sources;
use super::{DbConn, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sources)]
pub struct SourceRow {
    pub id: i64,
    pub uuid: String,
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub provider_type: String,
    pub enabled: bool,
    pub promoted: bool,
    pub consumer_key: String,
    pub consumer_secret: Option<String>,
    pub client_auth: String,
    pub private_key: Option<String>,
    pub certificate: Option<String>,
    pub secret_expires: Option<NaiveDateTime>,
    pub additional_scopes: String,
    pub authorization_url: Option<String>,
    pub access_token_url: Option<String>,
    pub profile_url: Option<String>,
    pub oidc_jwks_url: Option<String>,
    pub settings: String,
    pub user_matching_mode: String,
    pub group_matching_mode: String,
    pub authentication_flow_id: Option<i64>,
    pub enrollment_flow_id: Option<i64>,
    pub user_path_template: String,
    pub icon: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

impl SourceRow {
    /// The icon shown on the source's login button: the source's own, else its plugin's.
    pub fn icon_url(&self) -> String {
        if self.icon.is_empty() {
            format!("/static/sources/{}.svg", self.provider_type)
        } else {
            self.icon.clone()
        }
    }

    pub fn login_url(&self) -> String {
        format!("/source/oauth/login/{}/", self.slug)
    }
}

pub fn by_slug(conn: &mut DbConn, slug: &str) -> Result<SourceRow, StoreError> {
    Ok(sources::table
        .filter(sources::slug.eq(slug))
        .select(SourceRow::as_select())
        .first(conn)?)
}

pub fn by_uuid(conn: &mut DbConn, uuid: &str) -> Result<SourceRow, StoreError> {
    Ok(sources::table
        .filter(sources::uuid.eq(uuid))
        .select(SourceRow::as_select())
        .first(conn)?)
}

/// Which of `uuids` name existing sources.
pub fn existing_uuids(conn: &mut DbConn, uuids: &[String]) -> Result<Vec<String>, StoreError> {
    Ok(sources::table
        .filter(sources::uuid.eq_any(uuids))
        .select(sources::uuid)
        .load(conn)?)
}

/// The enabled sources a login page shows: those listed, plus every enabled one when `all`;
/// promoted first, then by name.
pub fn login_sources(conn: &mut DbConn, uuids: &[String], all: bool) -> Result<Vec<SourceRow>, StoreError> {
    let mut query = sources::table
        .filter(sources::enabled.eq(true))
        .filter(sources::kind.eq("oauth"))
        .into_boxed::<super::MultiBackend>();
    if !all {
        query = query.filter(sources::uuid.eq_any(uuids.to_vec()));
    }
    Ok(query
        .order((sources::promoted.desc(), sources::name.asc()))
        .select(SourceRow::as_select())
        .load(conn)?)
}
