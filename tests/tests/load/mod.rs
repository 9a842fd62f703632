//! Smoke test of the load generator (`gatehouse-load`): its scenarios, with tiny numbers, against
//! an in-process Gatehouse, so that the tool cannot rot unnoticed. Quick (a few logins); it
//! measures nothing and asserts no timings.

use gatehouse_testkit::Backend;
use gatehouse_testkit::load::{Env, Stop, Target, entra_login, login_page, m2m};

async fn env() -> Env {
    let target = Target::in_process(Backend::Sqlite).await.unwrap();
    Env::new(target).await.unwrap()
}

#[actix_web::test]
async fn entra_login_scenarios_log_users_in() {
    let env = env().await;
    let repeat = entra_login::Options {
        clients: 2,
        stop: Stop::Count(4),
        groups: 3,
        mode: entra_login::Mode::Repeat,
        users_per_client: 1,
        warmup: 1,
        user_base: 0,
    };
    let reports = entra_login::run(&env, &repeat).await.unwrap();
    // warm-up, enrolment of the repeat users, measured repeat logins
    assert_eq!(reports.len(), 3);
    for report in &reports {
        assert_eq!(report.errors, 0, "{}", report.render("logins"));
    }
    assert_eq!(reports.iter().map(|r| r.ops).collect::<Vec<_>>(), [1, 2, 4]);

    let first = entra_login::Options {
        mode: entra_login::Mode::First,
        stop: Stop::Count(3),
        warmup: 0,
        user_base: 100,
        ..repeat
    };
    let reports = entra_login::run(&env, &first).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        (reports[0].ops, reports[0].errors),
        (3, 0),
        "{}",
        reports[0].render("logins")
    );
    // 1 + 2 + 3 distinct users, each in the 3 groups.
    let (_, users) = env
        .admin
        .call("GET", "/api/v3/core/users/?search=loaduser&page_size=100", None)
        .await
        .unwrap();
    assert_eq!(users["pagination"]["count"], 6, "{users}");
    for user in users["results"].as_array().unwrap() {
        let groups = user["groups"]
            .as_array()
            .unwrap_or_else(|| panic!("no groups in {user}"));
        assert_eq!(groups.len(), 3, "{user}");
    }
    env.stop().await;
}

#[actix_web::test]
async fn login_page_scenario_renders_the_page() {
    let env = env().await;
    for with_cookies in [false, true] {
        let opts = login_page::Options {
            clients: 2,
            stop: Stop::Count(6),
            with_cookies,
            warmup: 2,
        };
        let reports = login_page::run(&env, &opts).await.unwrap();
        let measured = reports.last().unwrap();
        assert_eq!(
            (measured.ops, measured.errors),
            (6, 0),
            "{}",
            measured.render("requests")
        );
    }
    env.stop().await;
}

#[actix_web::test]
async fn m2m_scenario_exchanges_entra_tokens() {
    let env = env().await;
    let opts = m2m::Options {
        clients: 2,
        stop: Stop::Count(6),
        algorithms: vec![m2m::Algorithm::ES256, m2m::Algorithm::RS256],
        tokens: 3,
        warmup: 2,
    };
    let reports = m2m::run(&env, &opts).await.unwrap();
    // warm-up and measured phase per algorithm
    assert_eq!(reports.len(), 4);
    for report in &reports {
        assert_eq!(report.errors, 0, "{}", report.render("exchanges"));
    }
    env.stop().await;
}
