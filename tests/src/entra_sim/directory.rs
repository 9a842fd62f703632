//! The simulated directory: tenants, users, groups, directory roles, administrative units and
//! app registrations, with a small builder API for tests.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum UserType {
    Member,
    Guest,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub mail: Option<String>,
    pub other_mails: Vec<String>,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub user_type: UserType,
    pub account_enabled: bool,
}

impl User {
    /// A member user whose mail equals the UPN.
    pub fn member(id: &str, upn: &str, display_name: &str) -> Self {
        let (given, surname) = match display_name.split_once(' ') {
            Some((g, s)) => (Some(g.to_owned()), Some(s.to_owned())),
            None => (None, None),
        };
        Self {
            id: id.to_owned(),
            user_principal_name: upn.to_owned(),
            mail: Some(upn.to_owned()),
            other_mails: Vec::new(),
            display_name: display_name.to_owned(),
            given_name: given,
            surname,
            job_title: None,
            department: None,
            user_type: UserType::Member,
            account_enabled: true,
        }
    }

    /// A B2B guest: UPN `alias_domain#EXT#@<tenant domain>`, no mail, the home address in
    /// `otherMails`.
    pub fn guest(id: &str, home_email: &str, tenant_domain: &str, display_name: &str) -> Self {
        let mut u = Self::member(
            id,
            &format!("{}#EXT#@{tenant_domain}", home_email.replace('@', "_")),
            display_name,
        );
        u.mail = None;
        u.other_mails = vec![home_email.to_owned()];
        u.user_type = UserType::Guest;
        u
    }

    pub fn with_mail(mut self, mail: Option<&str>) -> Self {
        self.mail = mail.map(str::to_owned);
        self
    }

    pub fn with_job(mut self, title: &str, department: &str) -> Self {
        self.job_title = Some(title.to_owned());
        self.department = Some(department.to_owned());
        self
    }

    /// The full Graph representation (every property the simulator knows).
    pub fn graph_json(&self) -> Value {
        json!({
            "businessPhones": [],
            "displayName": self.display_name,
            "givenName": self.given_name,
            "jobTitle": self.job_title,
            "mail": self.mail,
            "mobilePhone": null,
            "officeLocation": null,
            "preferredLanguage": null,
            "surname": self.surname,
            "userPrincipalName": self.user_principal_name,
            "id": self.id,
            "otherMails": self.other_mails,
            "userType": match self.user_type { UserType::Member => "Member", UserType::Guest => "Guest" },
            "accountEnabled": self.account_enabled,
            "department": self.department,
            "employeeId": null,
            "companyName": null,
            "onPremisesSamAccountName": null,
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub security_enabled: bool,
    pub mail_enabled: bool,
    pub group_types: Vec<String>,
    pub mail: Option<String>,
    pub on_premises_security_identifier: Option<String>,
}

impl Group {
    pub fn security(id: &str, name: &str) -> Self {
        Self {
            id: id.to_owned(),
            display_name: name.to_owned(),
            description: None,
            security_enabled: true,
            mail_enabled: false,
            group_types: Vec::new(),
            mail: None,
            on_premises_security_identifier: None,
        }
    }

    /// A Microsoft 365 ("Unified") group.
    pub fn m365(id: &str, name: &str, mail: &str) -> Self {
        Self {
            mail_enabled: true,
            security_enabled: false,
            group_types: vec!["Unified".to_owned()],
            mail: Some(mail.to_owned()),
            description: Some(format!("{name} team")),
            ..Self::security(id, name)
        }
    }

    pub fn graph_json(&self) -> Value {
        json!({
            "id": self.id, "deletedDateTime": null, "classification": null,
            "createdDateTime": "2024-01-15T09:30:00Z", "creationOptions": [],
            "description": self.description, "displayName": self.display_name,
            "groupTypes": self.group_types, "mail": self.mail, "mailEnabled": self.mail_enabled,
            "mailNickname": self.display_name.replace(' ', ""), "onPremisesSecurityIdentifier":
            self.on_premises_security_identifier, "onPremisesSyncEnabled": null,
            "securityEnabled": self.security_enabled, "visibility": null,
        })
    }
}

/// Non-group objects that `memberOf` returns too (consumers must filter them out).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum OtherObject {
    DirectoryRole {
        id: String,
        display_name: String,
        role_template_id: String,
    },
    AdministrativeUnit {
        id: String,
        display_name: String,
    },
}

impl OtherObject {
    pub fn id(&self) -> &str {
        match self {
            Self::DirectoryRole { id, .. } | Self::AdministrativeUnit { id, .. } => id,
        }
    }

    pub fn graph_json(&self) -> Value {
        match self {
            Self::DirectoryRole {
                id,
                display_name,
                role_template_id,
            } => json!({
                "@odata.type": "#microsoft.graph.directoryRole", "id": id, "deletedDateTime": null,
                "description": format!("{display_name} role"), "displayName": display_name,
                "roleTemplateId": role_template_id,
            }),
            Self::AdministrativeUnit { id, display_name } => json!({
                "@odata.type": "#microsoft.graph.administrativeUnit", "id": id, "deletedDateTime": null,
                "displayName": display_name, "description": null, "isMemberManagementRestricted": false,
                "membershipRule": null, "membershipType": null, "membershipRuleProcessingState": null,
                "visibility": null,
            }),
        }
    }
}

/// Users created on demand for load tests: `{prefix}{n}@{first domain}`, each a member of
/// `group_count` shared groups.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyntheticUsers {
    pub prefix: String,
    pub group_count: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub domains: Vec<String>,
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
    pub others: BTreeMap<String, OtherObject>,
    /// member id (user or group) → ids of the objects it is a direct member of, in order.
    pub memberships: BTreeMap<String, Vec<String>>,
    pub default_user: Option<String>,
    pub synthetic: Option<SyntheticUsers>,
}

impl Tenant {
    pub fn new(id: &str, domain: &str) -> Self {
        Self {
            id: id.to_owned(),
            domains: vec![domain.to_owned()],
            ..Self::default()
        }
    }

    pub fn primary_domain(&self) -> &str {
        self.domains.first().map(String::as_str).unwrap_or("")
    }

    pub fn add_user(&mut self, user: User) -> &mut Self {
        if self.default_user.is_none() {
            self.default_user = Some(user.id.clone());
        }
        self.users.insert(user.id.clone(), user);
        self
    }

    pub fn add_group(&mut self, group: Group) -> &mut Self {
        self.groups.insert(group.id.clone(), group);
        self
    }

    pub fn add_role(&mut self, id: &str, name: &str) -> &mut Self {
        let o = OtherObject::DirectoryRole {
            id: id.to_owned(),
            display_name: name.to_owned(),
            role_template_id: "62e90394-69f5-4237-9190-012177145e10".to_owned(),
        };
        self.others.insert(id.to_owned(), o);
        self
    }

    pub fn add_admin_unit(&mut self, id: &str, name: &str) -> &mut Self {
        let o = OtherObject::AdministrativeUnit {
            id: id.to_owned(),
            display_name: name.to_owned(),
        };
        self.others.insert(id.to_owned(), o);
        self
    }

    /// Makes `member` (user or group id) a direct member of `container` (group, role or AU).
    pub fn add_member(&mut self, member: &str, container: &str) -> &mut Self {
        let list = self.memberships.entry(member.to_owned()).or_default();
        if !list.iter().any(|c| c == container) {
            list.push(container.to_owned());
        }
        self
    }

    pub fn remove_member(&mut self, member: &str, container: &str) -> &mut Self {
        if let Some(list) = self.memberships.get_mut(member) {
            list.retain(|c| c != container);
        }
        self
    }

    pub fn user_mut(&mut self, id_or_upn: &str) -> Option<&mut User> {
        let id = self.find_user(id_or_upn)?.id.clone();
        self.users.get_mut(&id)
    }

    /// By object id, UPN or mail (case-insensitive).
    pub fn find_user(&self, key: &str) -> Option<&User> {
        self.users.get(key).or_else(|| {
            self.users.values().find(|u| {
                u.user_principal_name.eq_ignore_ascii_case(key)
                    || u.mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(key))
                    || u.other_mails.iter().any(|m| m.eq_ignore_ascii_case(key))
            })
        })
    }

    /// Creates `{prefix}{n}@{domain}` on first use when synthetic users are configured.
    pub fn ensure_synthetic(&mut self, upn: &str) -> Option<String> {
        let syn = self.synthetic.clone()?;
        let (local, domain) = upn.split_once('@')?;
        let n: u64 = local.strip_prefix(&syn.prefix)?.parse().ok()?;
        if !self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            return None;
        }
        let id = format!("5a5a5a5a-0000-4000-8000-{n:012x}");
        if self.users.contains_key(&id) {
            return Some(id);
        }
        let mut user = User::member(&id, &upn.to_ascii_lowercase(), &format!("Load User {n}"));
        user.mail = Some(upn.to_ascii_lowercase());
        self.users.insert(id.clone(), user);
        for i in 0..syn.group_count {
            let gid = format!("6b6b6b6b-0000-4000-8000-{i:012x}");
            self.groups
                .entry(gid.clone())
                .or_insert_with(|| Group::security(&gid, &format!("load-group-{i}")));
            self.memberships.entry(id.clone()).or_default().push(gid);
        }
        Some(id)
    }

    /// Direct memberships of `member`: groups and other objects, in insertion order.
    pub fn direct_of(&self, member: &str) -> Vec<String> {
        self.memberships.get(member).cloned().unwrap_or_default()
    }

    /// Direct plus nested memberships (groups of groups), breadth first, no duplicates.
    pub fn transitive_of(&self, member: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<String> = self.direct_of(member).into();
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id.clone()) {
                continue;
            }
            if self.groups.contains_key(&id) {
                queue.extend(self.direct_of(&id));
            }
            out.push(id);
        }
        out
    }

    /// The Graph JSON of a directory object, with `@odata.type`.
    pub fn object_json(&self, id: &str) -> Option<Value> {
        if let Some(g) = self.groups.get(id) {
            let mut v = g.graph_json();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("@odata.type".to_owned(), json!("#microsoft.graph.group"));
            }
            return Some(v);
        }
        self.others.get(id).map(OtherObject::graph_json)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AppSecret {
    pub value: String,
    pub expires: Option<DateTime<Utc>>,
}

/// An app registration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct App {
    pub client_id: String,
    pub display_name: String,
    pub home_tenant: String,
    pub secrets: Vec<AppSecret>,
    /// PEM certificates accepted for `private_key_jwt`.
    pub certificates: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub multi_tenant: bool,
    /// `api.requestedAccessTokenVersion` of this app as a resource: 1 (default) or 2.
    pub access_token_version: u8,
    /// App roles granted to this app (as a client) on any resource, returned as `roles`.
    pub granted_roles: Vec<String>,
    /// `groupMembershipClaims`: id_tokens carry a `groups` claim of group object ids.
    #[serde(default)]
    pub groups_claim: bool,
}

impl App {
    pub fn new(client_id: &str, home_tenant: &str, name: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            display_name: name.to_owned(),
            home_tenant: home_tenant.to_owned(),
            secrets: Vec::new(),
            certificates: Vec::new(),
            redirect_uris: Vec::new(),
            multi_tenant: false,
            access_token_version: 1,
            granted_roles: Vec::new(),
            groups_claim: false,
        }
    }

    pub fn secret(mut self, value: &str, expires: Option<DateTime<Utc>>) -> Self {
        self.secrets.push(AppSecret {
            value: value.to_owned(),
            expires,
        });
        self
    }

    pub fn certificate(mut self, pem: &str) -> Self {
        self.certificates.push(pem.to_owned());
        self
    }

    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.redirect_uris.push(uri.to_owned());
        self
    }

    pub fn multi_tenant(mut self, yes: bool) -> Self {
        self.multi_tenant = yes;
        self
    }

    pub fn token_version(mut self, v: u8) -> Self {
        self.access_token_version = v;
        self
    }

    /// The exposed API's App ID URI.
    pub fn app_id_uri(&self) -> String {
        format!("api://{}", self.client_id)
    }
}

/// All tenants and apps of the simulator.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Directory {
    pub tenants: Vec<Tenant>,
    pub apps: Vec<App>,
}

impl Directory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_tenant(&mut self, tenant: Tenant) -> &mut Tenant {
        self.tenants.push(tenant);
        let last = self.tenants.len() - 1;
        &mut self.tenants[last]
    }

    pub fn add_app(&mut self, app: App) -> &mut Self {
        self.apps.retain(|a| a.client_id != app.client_id);
        self.apps.push(app);
        self
    }

    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    pub fn app_mut(&mut self, client_id: &str) -> Option<&mut App> {
        self.apps
            .iter_mut()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    /// By GUID or verified domain (case-insensitive).
    pub fn tenant(&self, key: &str) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(key) || t.domains.iter().any(|d| d.eq_ignore_ascii_case(key)))
    }

    pub fn tenant_mut(&mut self, key: &str) -> Option<&mut Tenant> {
        self.tenants
            .iter_mut()
            .find(|t| t.id.eq_ignore_ascii_case(key) || t.domains.iter().any(|d| d.eq_ignore_ascii_case(key)))
    }

    /// The tenant whose domain matches a UPN's domain (home-realm discovery for `common`).
    pub fn tenant_for_login(&self, hint: &str) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|t| t.find_user(hint).is_some())
            .or_else(|| {
                let domain = hint.rsplit_once('@')?.1;
                self.tenant(domain)
            })
    }
}
