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
    /// Whether logins rewrite the username of an account they were linked to (not enrolled).
    pub sync_username_on_link: bool,
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

const SOURCE_COLUMNS: <sources::table as diesel::Table>::AllColumns = sources::all_columns;

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = sources)]
#[diesel(treat_none_as_null = true)]
pub struct SourceValues {
    pub slug: String,
    pub name: String,
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
    pub updated: NaiveDateTime,
    pub sync_username_on_link: bool,
}

impl SourceValues {
    /// The current values of a row (the starting point of an update).
    pub fn of(row: &SourceRow) -> Self {
        Self {
            slug: row.slug.clone(),
            name: row.name.clone(),
            provider_type: row.provider_type.clone(),
            enabled: row.enabled,
            promoted: row.promoted,
            consumer_key: row.consumer_key.clone(),
            consumer_secret: row.consumer_secret.clone(),
            client_auth: row.client_auth.clone(),
            private_key: row.private_key.clone(),
            certificate: row.certificate.clone(),
            secret_expires: row.secret_expires,
            additional_scopes: row.additional_scopes.clone(),
            authorization_url: row.authorization_url.clone(),
            access_token_url: row.access_token_url.clone(),
            profile_url: row.profile_url.clone(),
            oidc_jwks_url: row.oidc_jwks_url.clone(),
            settings: row.settings.clone(),
            user_matching_mode: row.user_matching_mode.clone(),
            group_matching_mode: row.group_matching_mode.clone(),
            authentication_flow_id: row.authentication_flow_id,
            enrollment_flow_id: row.enrollment_flow_id,
            user_path_template: row.user_path_template.clone(),
            icon: row.icon.clone(),
            updated: row.updated,
            sync_username_on_link: row.sync_username_on_link,
        }
    }
}

pub fn insert(
    conn: &mut DbConn,
    uuid: &str,
    values: &SourceValues,
    created: NaiveDateTime,
) -> Result<SourceRow, StoreError> {
    Ok(diesel::insert_into(sources::table)
        .values((
            sources::uuid.eq(uuid),
            sources::kind.eq("oauth"),
            sources::created.eq(created),
            values,
        ))
        .returning(SOURCE_COLUMNS)
        .get_result(conn)?)
}

pub fn update(conn: &mut DbConn, id: i64, values: &SourceValues) -> Result<SourceRow, StoreError> {
    Ok(diesel::update(sources::table.find(id))
        .set(values)
        .returning(SOURCE_COLUMNS)
        .get_result(conn)?)
}

pub fn delete(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(sources::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Sources whose recorded secret expiry falls before `before`.
pub fn secrets_expiring(conn: &mut DbConn, before: NaiveDateTime) -> Result<Vec<SourceRow>, StoreError> {
    Ok(sources::table
        .filter(sources::secret_expires.is_not_null())
        .filter(sources::secret_expires.lt(before))
        .select(SourceRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct SourceFilter {
    pub search: Option<String>,
    pub slug: Option<String>,
    pub provider_type: Option<String>,
    pub enabled: Option<bool>,
}

pub const ORDERING_FIELDS: &[&str] = &["name", "slug", "created"];

fn filtered(filter: &SourceFilter) -> sources::BoxedQuery<'static, super::MultiBackend> {
    let mut query = sources::table
        .filter(sources::kind.eq("oauth"))
        .into_boxed::<super::MultiBackend>();
    if let Some(term) = &filter.search {
        let pattern = super::like_pattern(term);
        query = query.filter(
            super::lower(sources::name)
                .like(pattern.clone())
                .escape('\\')
                .or(super::lower(sources::slug).like(pattern).escape('\\')),
        );
    }
    if let Some(v) = &filter.slug {
        query = query.filter(sources::slug.eq(v.clone()));
    }
    if let Some(v) = &filter.provider_type {
        query = query.filter(sources::provider_type.eq(v.clone()));
    }
    if let Some(v) = filter.enabled {
        query = query.filter(sources::enabled.eq(v));
    }
    query
}

pub fn list(
    conn: &mut DbConn,
    filter: &SourceFilter,
    ordering: &super::Ordering,
    page: &super::Page,
) -> Result<(Vec<SourceRow>, i64), StoreError> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let query = filtered(filter);
    let query = match (ordering.field.as_str(), ordering.descending) {
        ("slug", false) => query.order(sources::slug.asc()),
        ("slug", true) => query.order(sources::slug.desc()),
        ("created", false) => query.order(sources::id.asc()),
        ("created", true) => query.order(sources::id.desc()),
        (_, true) => query.order((sources::name.desc(), sources::id.desc())),
        (_, false) => query.order((sources::name.asc(), sources::id.asc())),
    };
    let rows = query
        .select(SourceRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

/// The mappings attached to a source for `role` (`user` or `group`), in order.
pub fn mappings(
    conn: &mut DbConn,
    source: i64,
    role: &str,
) -> Result<Vec<super::property_mappings::MappingRow>, StoreError> {
    use super::schema::{property_mappings, source_property_mappings};
    Ok(source_property_mappings::table
        .inner_join(property_mappings::table)
        .filter(source_property_mappings::source_id.eq(source))
        .filter(source_property_mappings::role.eq(role))
        .order(source_property_mappings::position.asc())
        .select(super::property_mappings::MappingRow::as_select())
        .load(conn)?)
}

/// Replaces the mappings attached for `role` with `mapping_ids`, in that order.
pub fn set_mappings(
    conn: &mut DbConn,
    source: i64,
    role: &str,
    mapping_ids: &[i64],
) -> Result<(), StoreError> {
    use super::schema::source_property_mappings;
    diesel::delete(
        source_property_mappings::table
            .filter(source_property_mappings::source_id.eq(source))
            .filter(source_property_mappings::role.eq(role)),
    )
    .execute(conn)?;
    let rows: Vec<_> = mapping_ids
        .iter()
        .enumerate()
        .map(|(position, mapping)| {
            (
                source_property_mappings::source_id.eq(source),
                source_property_mappings::mapping_id.eq(*mapping),
                source_property_mappings::role.eq(role),
                source_property_mappings::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
            )
        })
        .collect();
    for chunk in rows.chunks(super::INSERT_CHUNK) {
        crate::per_backend!(conn, |c| diesel::insert_into(source_property_mappings::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}
