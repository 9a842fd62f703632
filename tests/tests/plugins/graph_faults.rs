//! Graph throttling and failures: the group fetch fails alone, a profile failure fails the login.

use gatehouse_plugins::{GroupSync, PluginError};
use gatehouse_testkit::entra_sim::{EntraSim, GraphFault, GraphTarget, fixtures as f};
use serde_json::json;

use crate::plugins::common::*;

fn fault(target: GraphTarget, status: u16, retry_after: Option<u64>, times: u32) -> GraphFault {
    GraphFault {
        target,
        status,
        retry_after_secs: retry_after,
        times,
    }
}

#[tokio::test]
async fn throttled_then_success_within_budget() {
    let sim = EntraSim::standard().unwrap();
    // `Retry-After: 0`: the retry is taken at once, and the test waits for nothing.
    sim.with_faults(|x| x.graph.push(fault(GraphTarget::Groups, 429, Some(0), 1)));
    let id = login(&contoso_cfg(&sim), None).await.unwrap();
    assert_eq!(group_ids(&id).len(), 3);
    assert_eq!(sim.counters().graph_throttled, 1);
    assert_eq!(
        sim.counters().graph_group_pages,
        2,
        "one throttled try and one answer"
    );
}

#[tokio::test]
async fn service_unavailable_is_retried() {
    let sim = EntraSim::standard().unwrap();
    sim.with_faults(|x| x.graph.push(fault(GraphTarget::Groups, 503, Some(0), 2)));
    let id = login(&contoso_cfg(&sim), None).await.unwrap();
    assert_eq!(group_ids(&id).len(), 3);
}

#[tokio::test]
async fn throttling_beyond_the_budget_fails_the_groups_not_the_login() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = contoso_cfg(&sim);
    set_setting(&mut cfg, "group_fetch_budget_ms", json!(2000));
    sim.with_faults(|x| x.graph.push(fault(GraphTarget::Groups, 429, Some(30), 5)));
    let id = login(&cfg, None).await.unwrap();
    assert_eq!(id.identifier, f::ADELE);
    match id.groups {
        GroupSync::Failed { reason } => assert!(reason.contains("Retry-After 30s"), "{reason}"),
        other => panic!("expected a failed group sync, got {other:?}"),
    }
    // It did not wait 30 s nor retry uselessly.
    assert_eq!(sim.counters().graph_group_pages, 1);
}

#[tokio::test]
async fn group_errors_401_403_500_fail_the_group_fetch() {
    for status in [401u16, 403, 500] {
        let sim = EntraSim::standard().unwrap();
        sim.with_faults(|x| x.graph.push(fault(GraphTarget::Groups, status, None, 1)));
        let id = login(&contoso_cfg(&sim), None).await.unwrap();
        match id.groups {
            GroupSync::Failed { reason } => assert!(reason.contains(&format!("HTTP {status}")), "{reason}"),
            other => panic!("{status}: expected failure, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn profile_errors_fail_the_login() {
    for status in [401u16, 403, 500] {
        let sim = EntraSim::standard().unwrap();
        sim.with_faults(|x| x.graph.push(fault(GraphTarget::Me, status, None, 1)));
        let err = login(&contoso_cfg(&sim), None).await.unwrap_err();
        match &err {
            PluginError::Profile { status: Some(s), .. } => assert_eq!(*s, status),
            other => panic!("{status}: expected a profile error, got {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("the user profile could not be fetched"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn deny_on_group_error_is_reported_to_the_server() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = contoso_cfg(&sim);
    let plugin = entraid();
    assert!(!plugin.deny_on_group_error(&cfg));
    set_setting(&mut cfg, "on_group_error", json!("deny"));
    assert!(plugin.deny_on_group_error(&cfg));
}
