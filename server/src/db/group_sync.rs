//! Group sync for one login: make the user's memberships in the groups linked to a source equal
//! the upstream list, creating or linking groups as needed. Authoritative for this source's groups
//! only; memberships in other groups are never touched.
//!
//! Cost is bounded and proportional to the number of groups divided by [`super::INSERT_CHUNK`]:
//! look-ups and inserts are batched, and nothing is written when nothing changed — a repeat login
//! of someone in thousands of unchanged groups only reads.

/// Thousands of upstream ids go through several maps per login: foldhash (seeded per process)
/// hashes them several times faster than the standard SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::{group_members, group_source_connections, groups};
use super::{DbConn, INSERT_CHUNK, StoreError};

/// A group as the user's upstream membership list and the group mappings describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredGroup {
    /// Upstream id (Entra object id).
    pub identifier: String,
    /// The local name (mapped; default the upstream display name).
    pub name: String,
    /// Attributes from group mappings, merged into the group's.
    #[serde(default)]
    pub attributes: Option<Value>,
    #[serde(default)]
    pub is_superuser: Option<bool>,
}

/// How upstream groups meet existing local groups (authentik's modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupMatching {
    /// The upstream id decides; a new group is created even if the name exists (the name is
    /// then made unique).
    Identifier,
    /// Link to an existing group with the same name.
    NameLink,
    /// Refuse the login when an unlinked group with the same name exists.
    NameDeny,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub created: usize,
    pub linked: usize,
    pub updated: usize,
    pub added: usize,
    pub removed: usize,
    /// Name-links refused (a new group was created instead); reported in an event of their own.
    #[serde(skip)]
    pub refused: Vec<RefusedLink>,
}

/// A local group that `name_link` would have adopted but must not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedLink {
    /// The upstream group id.
    pub identifier: String,
    pub name: String,
    /// `superuser` or `linked_elsewhere`.
    pub reason: &'static str,
}

/// Why a local group may not be adopted by name, if it may not: a superuser group would make
/// anyone who can create an upstream group of that name a superuser, and a group linked to a
/// source already belongs to that source's sync (or, at this source, to another upstream id).
fn link_refusal(
    conn: &mut DbConn,
    existing: &HashMap<String, i64>,
) -> Result<HashMap<i64, &'static str>, StoreError> {
    let ids: Vec<i64> = existing.values().copied().collect();
    let mut refused = HashMap::default();
    for chunk in chunks(&ids) {
        let superusers: Vec<i64> = groups::table
            .filter(groups::id.eq_any(chunk))
            .filter(groups::is_superuser.eq(true))
            .select(groups::id)
            .load(conn)?;
        refused.extend(superusers.into_iter().map(|id| (id, "superuser")));
    }
    for id in super::connections::linked_groups(conn, &ids)? {
        refused.entry(id).or_insert("linked_elsewhere");
    }
    Ok(refused)
}

impl SyncReport {
    pub fn changed(&self) -> bool {
        *self != Self::default()
    }
}

#[derive(Debug)]
pub enum SyncOutcome {
    Done(SyncReport),
    /// `name_deny`: a local group already has this name.
    Denied(String),
}

fn chunks<T>(items: &[T]) -> std::slice::Chunks<'_, T> {
    items.chunks(INSERT_CHUNK)
}

/// Names already taken among `names`.
fn taken_names(conn: &mut DbConn, names: &[String]) -> Result<HashMap<String, i64>, StoreError> {
    let mut taken = HashMap::default();
    for chunk in chunks(names) {
        let rows: Vec<(String, i64)> = groups::table
            .filter(groups::name.eq_any(chunk))
            .select((groups::name, groups::id))
            .load(conn)?;
        taken.extend(rows);
    }
    Ok(taken)
}

/// A free name for a new group: the wanted one, else with a short and then the full upstream id.
fn free_name(wanted: &str, identifier: &str, taken: &HashSet<String>) -> String {
    let short: String = identifier.chars().take(8).collect();
    [
        wanted.to_owned(),
        format!("{wanted} ({short})"),
        format!("{wanted} ({identifier})"),
    ]
    .into_iter()
    .find(|candidate| !taken.contains(candidate))
    .unwrap_or_else(|| format!("{wanted} ({identifier}) {}", uuid::Uuid::new_v4().simple()))
}

/// A group the user is a member of, linked to the source under `identifier`.
struct MemberGroup {
    identifier: String,
    id: i64,
    name: String,
    attributes: String,
    is_superuser: bool,
}

fn member_groups(conn: &mut DbConn, source: i64, user: i64) -> Result<Vec<MemberGroup>, StoreError> {
    let rows: Vec<(String, i64, String, String, bool)> = group_members::table
        .inner_join(
            group_source_connections::table
                .on(group_source_connections::group_id.eq(group_members::group_id)),
        )
        .inner_join(groups::table.on(groups::id.eq(group_members::group_id)))
        .filter(group_members::user_id.eq(user))
        .filter(group_source_connections::source_id.eq(source))
        .select((
            group_source_connections::identifier,
            groups::id,
            groups::name,
            groups::attributes,
            groups::is_superuser,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(identifier, id, name, attributes, is_superuser)| MemberGroup {
            identifier,
            id,
            name,
            attributes,
            is_superuser,
        })
        .collect())
}

/// Advisory-lock key that serialises group creation by logins on PostgreSQL.
const PG_GROUP_CREATION_LOCK: i64 = 0x6761_7465_6772_7073; // "gategrps"

/// Makes logins that are about to create or link groups take turns, until the end of the
/// transaction. Two first logins sharing new groups would otherwise both insert the same group
/// and name, and the loser would fail on a unique index after the winner commits. Creating groups
/// is rare (repeat logins skip this), so a single lock costs nothing in the common case. SQLite
/// needs nothing: `BEGIN IMMEDIATE` already serialises writers. True when the lock was waited for
/// on PostgreSQL and the links must be read again.
fn serialise_group_creation(conn: &mut DbConn) -> Result<bool, StoreError> {
    match conn {
        DbConn::Sqlite(_) => Ok(false),
        DbConn::Postgres(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({PG_GROUP_CREATION_LOCK})"))
                .execute(c)?;
            Ok(true)
        }
    }
}

/// Groups new to this source: (upstream id, local group) links by name, and the groups to create.
type NewGroupPlan<'a> = (Vec<(String, i64)>, Vec<&'a DesiredGroup>);

/// Groups new to this source, split into those that link to an existing local group by name
/// (`name_link`) and those that get a new group; `Err(message)` when `name_deny` refuses.
fn plan_new_groups<'a>(
    conn: &mut DbConn,
    matching: GroupMatching,
    missing: &[&'a DesiredGroup],
    report: &mut SyncReport,
) -> Result<Result<NewGroupPlan<'a>, String>, StoreError> {
    let names: Vec<String> = missing.iter().map(|g| g.name.clone()).collect();
    let existing = taken_names(conn, &names)?;
    let mut refusals = match matching {
        GroupMatching::NameLink if !existing.is_empty() => link_refusal(conn, &existing)?,
        _ => HashMap::default(),
    };
    let mut to_link = Vec::new();
    let mut to_create = Vec::new();
    for group in missing {
        match (matching, existing.get(&group.name)) {
            (GroupMatching::NameLink, Some(id)) => match refusals.get(id) {
                None => {
                    to_link.push((group.identifier.clone(), *id));
                    // A second upstream group of the same name in this login may not link to
                    // it as well (one link per group and source).
                    refusals.insert(*id, "linked_elsewhere");
                }
                Some(reason) => {
                    report.refused.push(RefusedLink {
                        identifier: group.identifier.clone(),
                        name: group.name.clone(),
                        reason,
                    });
                    to_create.push(*group);
                }
            },
            (GroupMatching::NameDeny, Some(_)) => {
                return Ok(Err(format!(
                    "A group named “{}” already exists and is not linked to this source.",
                    group.name
                )));
            }
            _ => to_create.push(*group),
        }
    }
    Ok(Ok((to_link, to_create)))
}

/// Creates groups under free names (against the table and within this batch); their ids, in
/// the order given.
fn create_groups(
    conn: &mut DbConn,
    to_create: &[&DesiredGroup],
    now: NaiveDateTime,
) -> Result<Vec<i64>, StoreError> {
    if to_create.is_empty() {
        return Ok(Vec::new());
    }
    let mut candidates: Vec<String> = Vec::new();
    for group in to_create {
        let short: String = group.identifier.chars().take(8).collect();
        candidates.push(group.name.clone());
        candidates.push(format!("{} ({short})", group.name));
        candidates.push(format!("{} ({})", group.name, group.identifier));
    }
    let mut taken: HashSet<String> = taken_names(conn, &candidates)?.into_keys().collect();
    let mut rows = Vec::with_capacity(to_create.len());
    for group in to_create {
        let name = free_name(&group.name, &group.identifier, &taken);
        taken.insert(name.clone());
        rows.push((
            groups::uuid.eq(uuid::Uuid::new_v4().to_string()),
            groups::name.eq(name),
            groups::is_superuser.eq(group.is_superuser.unwrap_or(false)),
            groups::attributes.eq(group
                .attributes
                .clone()
                .unwrap_or_else(|| Value::Object(Default::default()))
                .to_string()),
            groups::created.eq(now),
            groups::updated.eq(now),
        ));
    }
    let mut created: Vec<i64> = Vec::with_capacity(rows.len());
    for chunk in chunks(&rows) {
        let ids: Vec<(i64, String)> = crate::per_backend!(conn, |c| diesel::insert_into(groups::table)
            .values(chunk)
            .returning((groups::id, groups::uuid))
            .get_results(c))?;
        // `RETURNING` order follows the VALUES order on both backends.
        created.extend(ids.into_iter().map(|(id, _)| id));
    }
    Ok(created)
}

pub fn sync(
    conn: &mut DbConn,
    source: i64,
    user: i64,
    desired: &[DesiredGroup],
    matching: GroupMatching,
    now: NaiveDateTime,
) -> Result<SyncOutcome, StoreError> {
    let mut report = SyncReport::default();
    // One entry per upstream id (a list may repeat a group).
    let mut seen = HashSet::default();
    let desired: Vec<&DesiredGroup> = desired
        .iter()
        .filter(|g| seen.insert(g.identifier.as_str()))
        .collect();
    // One read answers a repeat login: the user's memberships in this source's groups, with the
    // upstream ids and the fields a mapping may change. Only ids not among them are looked up.
    let members = member_groups(conn, source, user)?;
    let have: HashSet<i64> = members.iter().map(|m| m.id).collect();
    let mut linked: HashMap<String, i64> = members.iter().map(|m| (m.identifier.clone(), m.id)).collect();
    let mut current: HashMap<i64, (String, String, bool)> = members
        .into_iter()
        .map(|m| (m.id, (m.name, m.attributes, m.is_superuser)))
        .collect();
    let unknown: Vec<&str> = desired
        .iter()
        .map(|g| g.identifier.as_str())
        .filter(|id| !linked.contains_key(*id))
        .collect();
    if !unknown.is_empty() {
        linked.extend(super::connections::group_connections(conn, source, &unknown)?);
        // (`linked` may also hold groups the user has left upstream: compare by id, not count.)
        let still_missing =
            |linked: &HashMap<String, i64>| unknown.iter().any(|id| !linked.contains_key(*id));
        if still_missing(&linked) && serialise_group_creation(conn)? {
            // Another login may have created some of these groups while we waited: look again.
            linked.extend(super::connections::group_connections(conn, source, &unknown)?);
        }
    }

    // Groups seen for the first time at this source.
    let missing: Vec<&DesiredGroup> = desired
        .iter()
        .copied()
        .filter(|g| !linked.contains_key(&g.identifier))
        .collect();
    let missing_ids: HashSet<&str> = missing.iter().map(|g| g.identifier.as_str()).collect();
    if !missing.is_empty() {
        let (mut to_link, to_create) = match plan_new_groups(conn, matching, &missing, &mut report)? {
            Ok(plan) => plan,
            Err(message) => return Ok(SyncOutcome::Denied(message)),
        };
        let created = create_groups(conn, &to_create, now)?;
        report.created = created.len();
        to_link.extend(to_create.iter().map(|g| g.identifier.clone()).zip(created));
        report.linked = to_link.len() - report.created;
        super::connections::insert_group_connections(conn, source, &to_link, now)?;
        linked.extend(to_link);
    }

    // Groups linked before but not (yet) the user's: their current fields, for the update below.
    let known: Vec<i64> = desired
        .iter()
        .filter(|g| !missing_ids.contains(g.identifier.as_str()))
        .filter_map(|g| linked.get(&g.identifier).copied())
        .filter(|id| !current.contains_key(id))
        .collect();
    for chunk in chunks(&known) {
        let rows: Vec<(i64, String, String, bool)> = groups::table
            .filter(groups::id.eq_any(chunk))
            .select((groups::id, groups::name, groups::attributes, groups::is_superuser))
            .load(conn)?;
        current.extend(
            rows.into_iter()
                .map(|(id, name, attributes, su)| (id, (name, attributes, su))),
        );
    }
    // Bring names and attributes up to date (rarely anything to do; new groups are skipped).
    for group in &desired {
        let Some(id) = linked.get(&group.identifier) else {
            continue;
        };
        let Some((name, attributes, is_superuser)) = current.get(id) else {
            continue;
        };
        let mut new_attributes = None;
        if let Some(update) = &group.attributes {
            let mut merged = crate::json::parse_or_empty(attributes);
            let before = merged.clone();
            crate::json::merge_json(&mut merged, update);
            if merged != before {
                new_attributes = Some(merged.to_string());
            }
        }
        let new_superuser = group.is_superuser.filter(|v| v != is_superuser);
        let rename = (group.name != *name).then(|| group.name.clone());
        if new_attributes.is_none() && new_superuser.is_none() && rename.is_none() {
            continue;
        }
        let changes = super::groups::GroupChanges {
            name: None,
            is_superuser: new_superuser,
            attributes: new_attributes,
            parent_id: None,
            updated: None,
        };
        let mut changed = false;
        if changes.is_superuser.is_some() || changes.attributes.is_some() {
            super::groups::update(conn, super::GroupId(*id), &changes)?;
            changed = true;
        }
        if let Some(new_name) = rename {
            // A rename upstream; if the new name is taken locally, keep the old one. That is no
            // change, so a login after it stays a read-only login (no sync event every time).
            let free: i64 = groups::table
                .filter(groups::name.eq(&new_name))
                .count()
                .get_result(conn)?;
            if free == 0 {
                diesel::update(groups::table.find(*id))
                    .set((groups::name.eq(new_name), groups::updated.eq(now)))
                    .execute(conn)?;
                changed = true;
            }
        }
        if changed {
            report.updated += 1;
        }
    }

    // Memberships: the user's groups linked to this source versus the wanted set.
    let wanted: HashSet<i64> = desired
        .iter()
        .filter_map(|g| linked.get(&g.identifier).copied())
        .collect();
    let remove: Vec<i64> = have.difference(&wanted).copied().collect();
    let mut add: Vec<i64> = wanted.difference(&have).copied().collect();
    add.sort_unstable();
    for chunk in chunks(&remove) {
        diesel::delete(
            group_members::table
                .filter(group_members::user_id.eq(user))
                .filter(group_members::group_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    let rows: Vec<_> = add
        .iter()
        .map(|g| (group_members::group_id.eq(*g), group_members::user_id.eq(user)))
        .collect();
    for chunk in chunks(&rows) {
        // A concurrent login of the same person may add the same membership first.
        crate::per_backend!(conn, |c| diesel::insert_into(group_members::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    report.added = add.len();
    report.removed = remove.len();
    Ok(SyncOutcome::Done(report))
}
