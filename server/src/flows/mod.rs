//! The flow engine: what happens, step by step, when someone logs in, enrolls or authorizes an
//! application. A flow is an ordered list of stages (through bindings); the planner snapshots them
//! into a plan, the executor walks the plan, and everything in between (position, context) lives
//! in `flow_states`, so any replica can continue a flow another one started.
//!
//! The engine knows nothing of HTTP: the web pages and the JSON executor API turn its
//! [`executor::Step`] answers into HTML or JSON. It does not know sources either: a source stage
//! only sends the browser to the source's login URL, and the source's callback hands control back
//! through the stored flow state.

pub mod challenge;
pub mod context;
pub mod defaults;
pub mod end;
pub mod executor;
pub mod model;
pub mod planner;
pub mod reauth;
pub mod stages;

pub use challenge::Challenge;
pub use context::FlowContext;
pub use end::FlowEnd;
pub use model::{AuthenticationRequirement, Designation};
