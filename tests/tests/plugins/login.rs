//! Full Entra ID logins through the simulator: profile, base properties, groups.

use gatehouse_plugins::GroupSync;
use gatehouse_testkit::entra_sim::{EntraSim, fixtures as f};
use serde_json::json;

use crate::plugins::common::*;

#[tokio::test]
async fn happy_path_profile_claims_and_transitive_groups() {
    let sim = EntraSim::standard().unwrap();
    let id = login(&contoso_cfg(&sim), None).await.unwrap();
    assert_eq!(id.identifier, f::ADELE);
    assert_eq!(id.base.username.as_deref(), Some(f::ADELE_UPN));
    assert_eq!(id.base.email.as_deref(), Some(f::ADELE_UPN));
    assert_eq!(id.base.name.as_deref(), Some("Adele Vance"));
    assert_eq!(id.info["jobTitle"], "Retail Manager");
    assert_eq!(id.info["department"], "Retail");
    assert_eq!(id.claims["oid"], f::ADELE);
    assert_eq!(id.claims["tid"], f::CONTOSO);
    assert_ne!(id.claims["sub"], id.claims["oid"], "sub is pairwise");
    assert!(id.tokens.expires_at.unwrap() > chrono::Utc::now());
    assert!(id.tokens.id_token.is_some());
    // Platform is nested in Engineering; the role and the AU are not groups.
    assert_eq!(
        group_ids(&id),
        sorted(&[f::PLATFORM, f::ENGINEERING, f::ALL_STAFF])
    );
    if let GroupSync::Synced { groups } = &id.groups {
        let all_staff = groups.iter().find(|g| g.identifier == f::ALL_STAFF).unwrap();
        assert_eq!(all_staff.name, "All Staff");
        assert_eq!(all_staff.info.to_map()["groupTypes"], json!(["Unified"]));
    }
}

#[tokio::test]
async fn direct_mode_uses_member_of() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = contoso_cfg(&sim);
    set_setting(&mut cfg, "group_sync", json!("direct"));
    let id = login(&cfg, None).await.unwrap();
    assert_eq!(group_ids(&id), sorted(&[f::PLATFORM, f::ALL_STAFF]));
}

#[tokio::test]
async fn without_the_group_scope_sync_is_off_and_graph_is_not_asked() {
    let sim = EntraSim::standard().unwrap();
    let cfg = entra_cfg(&sim, f::CONTOSO, f::APP, f::APP_SECRET, "");
    let id = login(&cfg, None).await.unwrap();
    assert_eq!(id.groups, GroupSync::Off);
    assert_eq!(sim.counters().graph_group_pages, 0);
    assert_eq!(sim.counters().graph_me, 1);
}

#[tokio::test]
async fn guest_with_ext_upn_and_null_mail() {
    let sim = EntraSim::standard().unwrap();
    let id = login(&contoso_cfg(&sim), Some(f::GUEST_HOME_EMAIL))
        .await
        .unwrap();
    assert_eq!(id.identifier, f::GUEST);
    assert_eq!(
        id.base.username.as_deref(),
        Some("gizmo2025_protonmail.com#EXT#@contoso.onmicrosoft.com")
    );
    assert_eq!(id.info["mail"], serde_json::Value::Null);
    assert_eq!(id.base.email.as_deref(), Some(f::GUEST_HOME_EMAIL));
    assert_eq!(id.info["userType"], "Guest");
    assert_eq!(group_ids(&id), sorted(&[f::ALL_STAFF]));
}

#[tokio::test]
async fn member_without_mailbox_falls_back_to_other_mails() {
    let sim = EntraSim::standard().unwrap();
    let id = login(&contoso_cfg(&sim), Some(f::ALEX_UPN)).await.unwrap();
    assert_eq!(id.base.email.as_deref(), Some("alex.wilber@example.org"));
    assert_eq!(group_ids(&id), Vec::<String>::new());
}

#[tokio::test]
async fn hundreds_of_groups_over_several_short_pages_roles_skipped() {
    let sim = EntraSim::standard().unwrap();
    sim.with_faults(|f| {
        f.graph_page_size = 100;
        // The cast endpoint misbehaves and returns roles too: the plugin must filter.
        f.graph_cast_returns_all_types = true;
    });
    let id = login(&contoso_cfg(&sim), Some(f::MANY_UPN)).await.unwrap();
    let ids = group_ids(&id);
    assert_eq!(ids.len(), 270, "250 direct + 20 nested");
    assert!(!ids.contains(&f::GLOBAL_ADMIN_ROLE.to_owned()));
    // 271 objects (with the role) at 100 per page.
    assert_eq!(sim.counters().graph_group_pages, 3);
}

#[tokio::test]
async fn profile_and_membership_changes_show_on_next_login() {
    let sim = EntraSim::standard().unwrap();
    let cfg = contoso_cfg(&sim);
    let first = login(&cfg, None).await.unwrap();
    assert_eq!(first.base.name.as_deref(), Some("Adele Vance"));
    sim.with_directory(|d| {
        let t = d.tenant_mut(f::CONTOSO).unwrap();
        t.user_mut(f::ADELE).unwrap().display_name = "Adele Vance-Smith".to_owned();
        t.user_mut(f::ADELE).unwrap().job_title = Some("Director".to_owned());
        t.remove_member(f::ADELE, f::PLATFORM);
    });
    let second = login(&cfg, None).await.unwrap();
    assert_eq!(second.identifier, first.identifier);
    assert_eq!(second.base.name.as_deref(), Some("Adele Vance-Smith"));
    assert_eq!(second.info["jobTitle"], "Director");
    assert_eq!(group_ids(&second), sorted(&[f::ALL_STAFF]));
}

#[tokio::test]
async fn domain_form_tenant_uses_the_discovered_guid_issuer() {
    let sim = EntraSim::standard().unwrap();
    let cfg = entra_cfg(&sim, f::CONTOSO_DOMAIN, f::APP, f::APP_SECRET, GROUP_SCOPE);
    let id = login(&cfg, None).await.unwrap();
    assert_eq!(id.claims["iss"], sim.issuer(f::CONTOSO));
    assert!(sim.counters().discovery >= 1);
}

#[tokio::test]
async fn multi_tenant_common_accepts_other_tenants_unless_restricted() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = entra_cfg(&sim, "common", f::MULTI_APP, f::MULTI_SECRET, GROUP_SCOPE);
    let bob = login(&cfg, Some(f::BOB_UPN)).await.unwrap();
    assert_eq!(bob.identifier, f::BOB);
    assert_eq!(bob.claims["tid"], f::FABRIKAM);
    assert_eq!(bob.claims["iss"], sim.issuer(f::FABRIKAM));
    set_setting(&mut cfg, "allowed_tenants", json!([f::CONTOSO]));
    let err = login(&cfg, Some(f::BOB_UPN)).await.unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
    let adele = login(&cfg, Some(f::ADELE_UPN)).await.unwrap();
    assert_eq!(adele.identifier, f::ADELE);
}

#[tokio::test]
async fn organizations_endpoint_works_like_common() {
    let sim = EntraSim::standard().unwrap();
    let cfg = entra_cfg(&sim, "organizations", f::MULTI_APP, f::MULTI_SECRET, "");
    let id = login(&cfg, Some(f::BOB_UPN)).await.unwrap();
    assert_eq!(id.claims["tid"], f::FABRIKAM);
}

#[tokio::test]
async fn synthetic_load_users_are_created_on_demand() {
    let sim = EntraSim::standard().unwrap();
    let id = login(&contoso_cfg(&sim), Some("loaduser42@contoso.onmicrosoft.com"))
        .await
        .unwrap();
    assert_eq!(
        id.base.username.as_deref(),
        Some("loaduser42@contoso.onmicrosoft.com")
    );
    assert_eq!(group_ids(&id).len(), 100);
    let again = login(&contoso_cfg(&sim), Some("loaduser42@contoso.onmicrosoft.com"))
        .await
        .unwrap();
    assert_eq!(again.identifier, id.identifier);
}
