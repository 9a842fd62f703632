//! Property mappings: sandboxed Rhai scripts that turn upstream (Microsoft Graph) profile and
//! group data into local user and group properties (DESIGN.md §7).
//!
//! ```
//! use gatehouse_mappings::{Mapping, MappingEngine, UserContext, UserOutcome, UserProperties};
//!
//! let engine = MappingEngine::default();
//! let mut context = UserContext {
//!     info: serde_json::from_str(r#"{"userPrincipalName": "AdeleV@contoso.onmicrosoft.com"}"#).unwrap(),
//!     ..Default::default()
//! }
//! .prepare();
//! let mappings = [Mapping::new("username", r#"#{ username: lower(info.userPrincipalName.split("@")[0]) }"#)];
//! let evaluation = engine.evaluate_user(&mappings, &mut context, UserProperties::default());
//! match evaluation.result.unwrap() {
//!     UserOutcome::Mapped(props) => assert_eq!(props.username.as_deref(), Some("adelev")),
//!     UserOutcome::Denied(denial) => panic!("denied: {}", denial.message),
//! }
//! ```

mod cache;
mod context;
mod convert;
mod defaults;
mod dry_run;
mod engine;
mod error;
mod evaluate;
mod fnv;
mod helpers;
mod limits;
mod memory;
mod outcome;
mod properties;
mod sandbox;
mod schema;
mod state;
mod working;

pub use context::{
    GroupContext, PreparedGroupContext, PreparedUserContext, RequestInfo, SourceInfo, UserContext,
};
pub use defaults::{ManagedMapping, managed_mappings};
pub use dry_run::{DryRunError, DryRunOutcome, DryRunOutput, DryRunRequest};
pub use engine::{Mapping, MappingEngine};
pub use error::{ErrorKind, Limit, MappingError};
pub use limits::{InvalidLimits, Limits};
pub use outcome::{Denial, Evaluation, GroupOutcome, LogEntry, LogLevel, UserOutcome};
pub use properties::{GroupProperties, UserProperties, UserType};
pub use schema::MappingKind;
