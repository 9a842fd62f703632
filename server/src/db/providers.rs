//! The `providers` (OAuth2/OIDC clients of Gatehouse's provider) and `applications` tables, and
//! the sources whose machine tokens a provider accepts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::MultiBackend;
use super::schema::{applications, provider_federation_sources, providers, sources};
use super::sources::SourceRow;
use super::{DbConn, StoreError};

const PROVIDER_COLUMNS: <providers::table as diesel::Table>::AllColumns = providers::all_columns;
const APPLICATION_COLUMNS: <applications::table as diesel::Table>::AllColumns = applications::all_columns;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = providers)]
pub struct ProviderRow {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub client_type: String,
    pub client_id: String,
    pub client_secret_hash: Option<String>,
    pub redirect_uris: String,
    pub authorization_flow_id: Option<i64>,
    pub signing_key_id: i64,
    pub access_code_validity: i32,
    pub access_token_validity: i32,
    pub refresh_token_validity: i32,
    pub scopes: String,
    pub federation_audiences: String,
    pub federation_app_ids: String,
    /// JSON list of app roles that must all appear in a machine token's `roles`.
    pub federation_required_roles: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

impl ProviderRow {
    pub fn is_public(&self) -> bool {
        self.client_type == "public"
    }

    /// The federation allow-list (`jwt_federation_app_ids`).
    pub fn federation_app_id_list(&self) -> Vec<String> {
        serde_json::from_str(&self.federation_app_ids).unwrap_or_default()
    }

    /// The app roles a machine token must carry (`jwt_federation_required_roles`).
    pub fn federation_role_list(&self) -> Vec<String> {
        serde_json::from_str(&self.federation_required_roles).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = providers)]
#[diesel(treat_none_as_null = true)]
pub struct ProviderValues {
    pub name: String,
    pub client_type: String,
    pub client_id: String,
    pub client_secret_hash: Option<String>,
    pub redirect_uris: String,
    pub authorization_flow_id: Option<i64>,
    pub signing_key_id: i64,
    pub access_code_validity: i32,
    pub access_token_validity: i32,
    pub refresh_token_validity: i32,
    pub scopes: String,
    pub federation_audiences: String,
    pub federation_app_ids: String,
    /// JSON list of app roles that must all appear in a machine token's `roles`.
    pub federation_required_roles: String,
    pub updated: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, uuid: &str, values: &ProviderValues) -> Result<ProviderRow, StoreError> {
    Ok(diesel::insert_into(providers::table)
        .values((
            providers::uuid.eq(uuid),
            providers::created.eq(values.updated),
            values,
        ))
        .returning(PROVIDER_COLUMNS)
        .get_result(conn)?)
}

pub fn update(conn: &mut DbConn, id: i64, values: &ProviderValues) -> Result<ProviderRow, StoreError> {
    Ok(diesel::update(providers::table.find(id))
        .set(values)
        .returning(PROVIDER_COLUMNS)
        .get_result(conn)?)
}

pub fn delete(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(providers::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<ProviderRow, StoreError> {
    Ok(providers::table
        .find(id)
        .select(ProviderRow::as_select())
        .first(conn)?)
}

pub fn by_uuid(conn: &mut DbConn, uuid: &str) -> Result<ProviderRow, StoreError> {
    Ok(providers::table
        .filter(providers::uuid.eq(uuid))
        .select(ProviderRow::as_select())
        .first(conn)?)
}

pub fn by_client_id(conn: &mut DbConn, client_id: &str) -> Result<Option<ProviderRow>, StoreError> {
    Ok(providers::table
        .filter(providers::client_id.eq(client_id))
        .select(ProviderRow::as_select())
        .first(conn)
        .optional()?)
}

pub const ORDERING_FIELDS: &[&str] = &["name", "created"];

fn filtered(search: &Option<String>) -> providers::BoxedQuery<'static, MultiBackend> {
    let mut query = providers::table.into_boxed::<MultiBackend>();
    if let Some(term) = search {
        query = query.filter(
            super::lower(providers::name)
                .like(super::like_pattern(term))
                .escape('\\'),
        );
    }
    query
}

pub fn list(
    conn: &mut DbConn,
    search: &Option<String>,
    ordering: &super::Ordering,
    page: &super::Page,
) -> Result<(Vec<ProviderRow>, i64), StoreError> {
    let total: i64 = filtered(search).count().get_result(conn)?;
    let query = filtered(search);
    let query = match (ordering.field.as_str(), ordering.descending) {
        ("created", false) => query.order(providers::id.asc()),
        ("created", true) => query.order(providers::id.desc()),
        (_, true) => query.order(providers::name.desc()),
        (_, false) => query.order(providers::name.asc()),
    };
    let rows = query
        .select(ProviderRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

/// The sources a provider accepts machine tokens from, in order.
pub fn federation_sources(conn: &mut DbConn, provider: i64) -> Result<Vec<SourceRow>, StoreError> {
    Ok(provider_federation_sources::table
        .inner_join(sources::table)
        .filter(provider_federation_sources::provider_id.eq(provider))
        .order(provider_federation_sources::position.asc())
        .select(SourceRow::as_select())
        .load(conn)?)
}

/// Replaces the list of federated sources of a provider.
pub fn set_federation_sources(conn: &mut DbConn, provider: i64, sources: &[i64]) -> Result<(), StoreError> {
    diesel::delete(
        provider_federation_sources::table.filter(provider_federation_sources::provider_id.eq(provider)),
    )
    .execute(conn)?;
    for (position, source) in sources.iter().enumerate() {
        diesel::insert_into(provider_federation_sources::table)
            .values((
                provider_federation_sources::provider_id.eq(provider),
                provider_federation_sources::source_id.eq(*source),
                provider_federation_sources::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The providers that federate machine tokens of `source`.
pub fn federating(conn: &mut DbConn, source: i64) -> Result<Vec<ProviderRow>, StoreError> {
    Ok(provider_federation_sources::table
        .inner_join(providers::table)
        .filter(provider_federation_sources::source_id.eq(source))
        .order(providers::name.asc())
        .select(ProviderRow::as_select())
        .load(conn)?)
}

/// Providers that federate at least one source.
pub fn list_federating(conn: &mut DbConn) -> Result<Vec<ProviderRow>, StoreError> {
    Ok(providers::table
        .filter(diesel::dsl::exists(
            provider_federation_sources::table
                .filter(provider_federation_sources::provider_id.eq(providers::id)),
        ))
        .order(providers::name.asc())
        .select(ProviderRow::as_select())
        .load(conn)?)
}

/// Providers that federate at least one source but name nobody who may exchange (no app
/// allow-list and no required roles): rows from before that rule, which refuse every exchange.
pub fn naming_nobody(conn: &mut DbConn) -> Result<Vec<ProviderRow>, StoreError> {
    Ok(list_federating(conn)?
        .into_iter()
        .filter(|p| p.federation_app_id_list().is_empty() && p.federation_role_list().is_empty())
        .collect())
}

/// The source uuids per provider, for API listings.
pub fn federation_source_uuids(conn: &mut DbConn, provider: i64) -> Result<Vec<String>, StoreError> {
    Ok(provider_federation_sources::table
        .inner_join(sources::table)
        .filter(provider_federation_sources::provider_id.eq(provider))
        .order(provider_federation_sources::position.asc())
        .select(sources::uuid)
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: i64,
    pub uuid: String,
    pub slug: String,
    pub name: String,
    pub provider_id: Option<i64>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = applications)]
#[diesel(treat_none_as_null = true)]
pub struct ApplicationValues {
    pub slug: String,
    pub name: String,
    pub provider_id: Option<i64>,
    pub updated: NaiveDateTime,
}

pub fn insert_application(
    conn: &mut DbConn,
    uuid: &str,
    values: &ApplicationValues,
) -> Result<ApplicationRow, StoreError> {
    Ok(diesel::insert_into(applications::table)
        .values((
            applications::uuid.eq(uuid),
            applications::created.eq(values.updated),
            values,
        ))
        .returning(APPLICATION_COLUMNS)
        .get_result(conn)?)
}

pub fn update_application(
    conn: &mut DbConn,
    id: i64,
    values: &ApplicationValues,
) -> Result<ApplicationRow, StoreError> {
    Ok(diesel::update(applications::table.find(id))
        .set(values)
        .returning(APPLICATION_COLUMNS)
        .get_result(conn)?)
}

pub fn delete_application(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(applications::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub fn application_by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<ApplicationRow>, StoreError> {
    Ok(applications::table
        .filter(applications::slug.eq(slug))
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn application_of(conn: &mut DbConn, provider: i64) -> Result<Option<ApplicationRow>, StoreError> {
    Ok(applications::table
        .filter(applications::provider_id.eq(provider))
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()?)
}

/// The provider behind a client id, with the application it serves (which gives the issuer).
pub fn client(
    conn: &mut DbConn,
    client_id: &str,
) -> Result<Option<(ProviderRow, Option<ApplicationRow>)>, StoreError> {
    Ok(providers::table
        .left_join(applications::table)
        .filter(providers::client_id.eq(client_id))
        .select((ProviderRow::as_select(), Option::<ApplicationRow>::as_select()))
        .first(conn)
        .optional()?)
}

pub fn list_applications(
    conn: &mut DbConn,
    search: &Option<String>,
    page: &super::Page,
) -> Result<(Vec<ApplicationRow>, i64), StoreError> {
    let build = || {
        let mut query = applications::table.into_boxed::<MultiBackend>();
        if let Some(term) = search {
            query = query.filter(
                super::lower(applications::name)
                    .like(super::like_pattern(term))
                    .escape('\\'),
            );
        }
        query
    };
    let total: i64 = build().count().get_result(conn)?;
    let rows = build()
        .order(applications::name.asc())
        .select(ApplicationRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

/// The longest access-token lifetime among providers signing with `key`; `None` when none does.
pub fn max_token_validity_for_key(conn: &mut DbConn, key: i64) -> Result<Option<i32>, StoreError> {
    Ok(providers::table
        .filter(providers::signing_key_id.eq(key))
        .select(diesel::dsl::max(providers::access_token_validity))
        .first::<Option<i32>>(conn)?)
}
