//! TEMPORARY until the testkit-pg branch lands: uses GATEHOUSE_TEST_DATABASE_URL only.

pub struct TestDatabase {
    pub url: String,
}

pub fn fresh_database() -> Option<TestDatabase> {
    let admin = std::env::var("GATEHOUSE_TEST_DATABASE_URL").ok()?;
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let mut conn = PgConnection::establish(&admin).ok()?;
    let name = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .ok()?;
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned())?;
    Some(TestDatabase {
        url: format!("{base}/{name}"),
    })
}
