//! The standard simulated directory used by tests and the `entra-sim` demo: two tenants,
//! members, a guest, nested groups, a directory role, an administrative unit, and apps.
//! All GUIDs and secrets are fake.

use chrono::{Duration, Utc};

use super::directory::{App, Directory, Group, SyntheticUsers, Tenant, User};
use super::keys::CLIENT_A;

pub const CONTOSO: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
pub const CONTOSO_DOMAIN: &str = "contoso.onmicrosoft.com";
pub const FABRIKAM: &str = "ccccdddd-1111-eeee-2222-ffff3333aaaa";
pub const FABRIKAM_DOMAIN: &str = "fabrikam.onmicrosoft.com";

/// Member with mail; the Contoso default user.
pub const ADELE: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
pub const ADELE_UPN: &str = "AdeleV@contoso.onmicrosoft.com";
/// Member without a mailbox (`mail` null, one `otherMails`).
pub const ALEX: &str = "a1e1a1e1-2b2b-4c3c-8d4d-5e5e5e5e5e5e";
pub const ALEX_UPN: &str = "AlexW@contoso.onmicrosoft.com";
/// B2B guest: `#EXT#` UPN, `mail` null.
pub const GUEST: &str = "9e9e9e9e-1111-4222-8333-444444444444";
pub const GUEST_HOME_EMAIL: &str = "gizmo2025@protonmail.com";
/// Member of 250 groups directly and 20 more through nesting (paging tests).
pub const MANY: &str = "7a7a7a7a-0000-4000-8000-000000000250";
pub const MANY_UPN: &str = "many.groups@contoso.onmicrosoft.com";
/// Fabrikam member.
pub const BOB: &str = "b0b0b0b0-3333-4444-8555-666666666666";
pub const BOB_UPN: &str = "bob@fabrikam.onmicrosoft.com";

pub const ENGINEERING: &str = "0e0e0e0e-0000-4000-8000-00000000e001";
pub const PLATFORM: &str = "0e0e0e0e-0000-4000-8000-00000000e002";
pub const ALL_STAFF: &str = "0e0e0e0e-0000-4000-8000-00000000e003";
pub const GLOBAL_ADMIN_ROLE: &str = "d5543619-1201-4316-b529-bbadec267aa7";
pub const TEST_AU: &str = "244f1027-d748-411c-8813-da2e987c5226";

/// Gatehouse's single-tenant registration in Contoso (also an API: `api://<id>`, v1 tokens).
pub const APP: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
pub const APP_SECRET: &str = "sim~gatehouse-secret-value-0001";
pub const APP_EXPIRED_SECRET: &str = "sim~gatehouse-expired-secret-02";
/// Multi-tenant registration (home Contoso).
pub const MULTI_APP: &str = "11112222-bbbb-3333-cccc-4444dddd5555";
pub const MULTI_SECRET: &str = "sim~multi-tenant-secret-value-03";
/// A daemon client in Contoso (client credentials).
pub const DAEMON: &str = "22223333-cccc-4444-dddd-5555eeee6666";
pub const DAEMON_SECRET: &str = "sim~daemon-secret-value-000004";
/// An API whose `requestedAccessTokenVersion` is 2.
pub const V2_API: &str = "33334444-dddd-5555-eeee-6666ffff7777";
/// Some other API (wrong-audience tests).
pub const OTHER_API: &str = "44445555-eeee-6666-ffff-7777aaaa8888";
/// A daemon whose home is Fabrikam.
pub const FABRIKAM_DAEMON: &str = "55556666-ffff-7777-aaaa-8888bbbb9999";
pub const FABRIKAM_DAEMON_SECRET: &str = "sim~fabrikam-daemon-secret-0005";

/// The app role the standard daemons are granted on Gatehouse's API (`roles` claim).
pub const EXCHANGE_ROLE: &str = "Gatehouse.Exchange";
/// A Contoso daemon with no app role assignment: its tokens carry no `roles` (any app
/// registration in a tenant gets such a token unless "Assignment required" is set).
pub const ROLELESS_DAEMON: &str = "66667777-aaaa-8888-bbbb-9999cccc0000";
pub const ROLELESS_DAEMON_SECRET: &str = "sim~roleless-daemon-secret-0006";
/// A Contoso daemon that holds the exchange role but is on no allow-list.
pub const OUTSIDER_DAEMON: &str = "77778888-bbbb-9999-cccc-0000dddd1111";
pub const OUTSIDER_DAEMON_SECRET: &str = "sim~outsider-daemon-secret-007";
/// A Contoso web app that signs users in and asks for delegated tokens for Gatehouse's API
/// (`api://<APP>/access_as_user`): its access tokens carry `scp`.
pub const WEB_CLIENT: &str = "88889999-cccc-0000-dddd-1111eeee2222";
pub const WEB_CLIENT_SECRET: &str = "sim~web-client-secret-value-008";
pub const WEB_CLIENT_REDIRECT: &str = "https://portal.contoso.example/signin";

/// The redirect URI of the demo (a local Gatehouse with a source slugged `entra-id`).
pub const DEMO_REDIRECT: &str = "http://127.0.0.1:9000/source/oauth/callback/entra-id/";
/// The redirect URI tests use.
pub const TEST_REDIRECT: &str = "http://127.0.0.1:9000/source/oauth/callback/test/";

pub fn standard_directory() -> Directory {
    standard_directory_with_redirect(DEMO_REDIRECT)
}

pub fn standard_directory_with_redirect(redirect: &str) -> Directory {
    let mut dir = Directory::new();
    let contoso = dir.add_tenant(Tenant::new(CONTOSO, CONTOSO_DOMAIN));
    contoso.domains.push("contoso.com".to_owned());
    contoso
        .add_user(User::member(ADELE, ADELE_UPN, "Adele Vance").with_job("Retail Manager", "Retail"))
        .add_user(
            User::member(ALEX, ALEX_UPN, "Alex Wilber")
                .with_mail(None)
                .with_job("Marketing Assistant", "Marketing"),
        )
        .add_user(User::guest(
            GUEST,
            GUEST_HOME_EMAIL,
            CONTOSO_DOMAIN,
            "Gizmo Guest",
        ))
        .add_user(User::member(MANY, MANY_UPN, "Many Groups"))
        .add_group(Group::security(ENGINEERING, "Engineering"))
        .add_group(Group::security(PLATFORM, "Platform Team"))
        .add_group(Group::m365(
            ALL_STAFF,
            "All Staff",
            "allstaff@contoso.onmicrosoft.com",
        ))
        .add_role(GLOBAL_ADMIN_ROLE, "Global Administrator")
        .add_admin_unit(TEST_AU, "Integration Testing unit");
    if let Some(u) = contoso.users.get_mut(ALEX) {
        u.other_mails = vec!["alex.wilber@example.org".to_owned()];
    }
    // Adele: Platform (nested in Engineering), All Staff, a role and an AU.
    contoso
        .add_member(ADELE, PLATFORM)
        .add_member(ADELE, GLOBAL_ADMIN_ROLE)
        .add_member(ADELE, ALL_STAFF)
        .add_member(ADELE, TEST_AU)
        .add_member(PLATFORM, ENGINEERING)
        .add_member(GUEST, ALL_STAFF);
    // MANY: 250 direct groups; group 0 contains 20 nested parents; plus the role.
    for i in 0..270u32 {
        let id = format!("9a9a9a9a-0000-4000-8000-{i:012}");
        contoso.add_group(Group::security(&id, &format!("Bulk Group {i:03}")));
        if i < 250 {
            contoso.add_member(MANY, &id);
        } else {
            contoso.add_member("9a9a9a9a-0000-4000-8000-000000000000", &id);
        }
    }
    contoso.add_member(MANY, GLOBAL_ADMIN_ROLE);
    contoso.default_user = Some(ADELE.to_owned());
    contoso.synthetic = Some(SyntheticUsers {
        prefix: "loaduser".to_owned(),
        group_count: 100,
    });

    let fabrikam = dir.add_tenant(Tenant::new(FABRIKAM, FABRIKAM_DOMAIN));
    fabrikam
        .add_user(User::member(BOB, BOB_UPN, "Bob Builder"))
        .add_group(Group::security(
            "fafafafa-0000-4000-8000-000000000001",
            "Fabrikam Staff",
        ));
    fabrikam.add_member(BOB, "fafafafa-0000-4000-8000-000000000001");

    let expired = Utc::now() - Duration::days(30);
    dir.add_app(
        App::new(APP, CONTOSO, "Gatehouse")
            .secret(APP_SECRET, Some(Utc::now() + Duration::days(365)))
            .secret(APP_EXPIRED_SECRET, Some(expired))
            .certificate(CLIENT_A.1)
            .redirect_uri(redirect)
            .redirect_uri(TEST_REDIRECT),
    )
    .add_app(
        App::new(MULTI_APP, CONTOSO, "Gatehouse multi-tenant")
            .secret(MULTI_SECRET, None)
            .redirect_uri(redirect)
            .redirect_uri(TEST_REDIRECT)
            .multi_tenant(true),
    )
    .add_app(App::new(DAEMON, CONTOSO, "Nightly sync daemon").secret(DAEMON_SECRET, None))
    .add_app(App::new(V2_API, CONTOSO, "Gatehouse API v2").token_version(2))
    .add_app(App::new(OTHER_API, CONTOSO, "Unrelated API"))
    .add_app(
        App::new(FABRIKAM_DAEMON, FABRIKAM, "Fabrikam daemon")
            .secret(FABRIKAM_DAEMON_SECRET, None)
            .multi_tenant(true),
    )
    .add_app(App::new(ROLELESS_DAEMON, CONTOSO, "Role-less daemon").secret(ROLELESS_DAEMON_SECRET, None))
    .add_app(App::new(OUTSIDER_DAEMON, CONTOSO, "Outsider daemon").secret(OUTSIDER_DAEMON_SECRET, None))
    .add_app(
        App::new(WEB_CLIENT, CONTOSO, "Contoso portal")
            .secret(WEB_CLIENT_SECRET, None)
            .redirect_uri(WEB_CLIENT_REDIRECT),
    );
    // The Fabrikam daemon holds the role too, so that only its tenant can be what refuses it.
    for app in [DAEMON, OUTSIDER_DAEMON, FABRIKAM_DAEMON] {
        if let Some(d) = dir.app_mut(app) {
            d.granted_roles = vec![EXCHANGE_ROLE.to_owned()];
        }
    }
    dir
}
