//! What a stage asks of the user: a component name (one per stage kind) and its fields. The web
//! pages render it with the component's template; the JSON executor returns it as is.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::FieldErrors;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowInfo {
    pub title: String,
    pub slug: String,
    pub cancel_url: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Challenge {
    /// `identification`, `password`, `consent`, `access_denied`, `redirect`, `flow_error`, …
    pub component: String,
    pub flow_info: FlowInfo,
    /// The submission this page was rendered for; echo it back (`step`) with the response.
    pub step: i32,
    /// Errors of the previous submission, by field.
    #[schema(value_type = Object)]
    pub response_errors: FieldErrors,
    /// The component's own fields.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

impl Challenge {
    pub fn new(component: &str) -> Self {
        Self {
            component: component.to_owned(),
            flow_info: FlowInfo {
                title: String::new(),
                slug: String::new(),
                cancel_url: "/flows/-/cancel/".into(),
            },
            step: 0,
            response_errors: FieldErrors::new(),
            fields: Map::new(),
        }
    }

    pub fn field(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    pub fn errors(mut self, errors: FieldErrors) -> Self {
        self.response_errors = errors;
        self
    }
}
