//! What happens when a flow ends, defined here and implemented by a handler layer.
//!
//! The engine must not import handlers (DESIGN §2), yet an authorization flow ends by issuing a
//! code inside the executor's transaction. The provider implements [`FlowEnd`]; the callers hand it
//! to the executor through [`FlowEnv`](super::stages::FlowEnv), the same way a source hands the
//! engine a planned `source_sync` stage.

use super::context::FlowContext;
use super::stages::FlowEnv;
use crate::db::{DbConn, StoreError};

/// Runs when a flow finishes or is denied, inside the executor's transaction.
pub trait FlowEnd: std::fmt::Debug + Sync {
    /// Returns where to send the browser instead of the flow's own `next`, or `None` when this
    /// flow is not one the implementation cares about. `denial` is the message of a denied flow.
    fn on_flow_end(
        &self,
        conn: &mut DbConn,
        env: FlowEnv<'_>,
        context: &FlowContext,
        denial: Option<&str>,
    ) -> Result<Option<String>, StoreError>;
}
