//! Dry run of one script on a JSON context, for `POST /api/v3/propertymappings/all/<pk>/test/`
//! and `gatehouse mapping test`.

use crate::context::{GroupContext, RequestInfo, SourceInfo, UserContext};
use crate::engine::{Mapping, MappingEngine};
use crate::error::{ErrorKind, Limit, MappingError};
use crate::outcome::{GroupOutcome, LogEntry, UserOutcome};
use crate::properties::{GroupProperties, UserProperties};
use crate::schema::MappingKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Value};

/// Body of the test endpoint: `{"context": {...}, "kind": "user" | "group"}`.
///
/// `context` holds the variables of that kind of mapping (all optional), plus optional
/// `properties` to start from (default: nothing for users; `{"name": <displayName>}` for groups).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DryRunRequest {
    /// The evaluation context.
    #[serde(default)]
    pub context: Value,
    /// User or group mapping (default user).
    #[serde(default)]
    pub kind: MappingKind,
}

/// How a successful dry run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DryRunOutcome {
    /// Properties were produced (`result`).
    Mapped,
    /// A group mapping returned `()`.
    Skipped,
    /// The script called `deny()` (`message`).
    Denied,
}

/// The error part of a failed dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRunError {
    /// What went wrong.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Error class (`syntax`, `runtime`, `limit_exceeded`, `timeout`, `type`, `invalid_context`).
    pub kind: ErrorKind,
    /// Which limit, for `limit_exceeded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// The property key at fault, for type errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl From<MappingError> for DryRunError {
    fn from(error: MappingError) -> Self {
        Self {
            message: error.message,
            line: error.line,
            column: error.column,
            kind: error.kind,
            limit: error.limit,
            key: error.key,
        }
    }
}

/// Response of the test endpoint:
/// `{"successful": true, "outcome": "mapped", "result": {...}}`,
/// `{"successful": true, "outcome": "skipped"}`,
/// `{"successful": true, "outcome": "denied", "message": "..."}` or
/// `{"successful": false, "error": {"message", "line", "column", "kind", ...}}`;
/// `logs` is present when the script wrote any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRunOutput {
    /// False when the script failed.
    pub successful: bool,
    /// How it ended, when successful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<DryRunOutcome>,
    /// Merged properties, when mapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Denial message, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The error, when not successful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<DryRunError>,
    /// Log entries written by the script.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogEntry>,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
#[derive(Default)]
struct UserTestContext {
    info: JsonMap<String, Value>,
    groups: Vec<JsonMap<String, Value>>,
    claims: JsonMap<String, Value>,
    source: SourceInfo,
    user: Option<JsonMap<String, Value>>,
    request: RequestInfo,
    properties: UserProperties,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
#[derive(Default)]
struct GroupTestContext {
    group: JsonMap<String, Value>,
    source: SourceInfo,
    properties: Option<GroupProperties>,
}

impl DryRunOutput {
    fn failed(error: MappingError, logs: Vec<LogEntry>) -> Self {
        Self {
            successful: false,
            outcome: None,
            result: None,
            message: None,
            error: Some(error.into()),
            logs,
        }
    }

    fn ended(
        outcome: DryRunOutcome,
        result: Option<Value>,
        message: Option<String>,
        logs: Vec<LogEntry>,
    ) -> Self {
        Self {
            successful: true,
            outcome: Some(outcome),
            result,
            message,
            error: None,
            logs,
        }
    }
}

impl MappingEngine {
    /// Runs one script (`name` is only used in messages) on the request's context.
    pub fn dry_run(&self, name: &str, expression: &str, request: &DryRunRequest) -> DryRunOutput {
        let mapping = [Mapping::new(name, expression)];
        let context = match &request.context {
            Value::Null => Value::Object(JsonMap::new()),
            Value::Object(_) => request.context.clone(),
            _ => {
                let error = MappingError::new(
                    name,
                    ErrorKind::InvalidContext,
                    "invalid context: expected a JSON object",
                );
                return DryRunOutput::failed(error, Vec::new());
            }
        };
        let invalid = |e: serde_json::Error| {
            MappingError::new(name, ErrorKind::InvalidContext, format!("invalid context: {e}"))
        };
        match request.kind {
            MappingKind::User => {
                let parsed: UserTestContext = match serde_json::from_value(context) {
                    Ok(parsed) => parsed,
                    Err(e) => return DryRunOutput::failed(invalid(e), Vec::new()),
                };
                let mut prepared = UserContext {
                    info: parsed.info,
                    groups: parsed.groups,
                    claims: parsed.claims,
                    source: parsed.source,
                    user: parsed.user,
                    request: parsed.request,
                }
                .prepare();
                let evaluation = self.evaluate_user(&mapping, &mut prepared, parsed.properties);
                match evaluation.result {
                    Err(error) => DryRunOutput::failed(error, evaluation.logs),
                    Ok(UserOutcome::Mapped(props)) => {
                        DryRunOutput::ended(DryRunOutcome::Mapped, to_json(&props), None, evaluation.logs)
                    }
                    Ok(UserOutcome::Denied(denial)) => DryRunOutput::ended(
                        DryRunOutcome::Denied,
                        None,
                        Some(denial.message),
                        evaluation.logs,
                    ),
                }
            }
            MappingKind::Group => {
                let parsed: GroupTestContext = match serde_json::from_value(context) {
                    Ok(parsed) => parsed,
                    Err(e) => return DryRunOutput::failed(invalid(e), Vec::new()),
                };
                let base = parsed.properties.unwrap_or_else(|| GroupProperties {
                    name: ["displayName", "id"]
                        .iter()
                        .find_map(|key| parsed.group.get(*key).and_then(Value::as_str))
                        .map(str::to_owned),
                    ..GroupProperties::default()
                });
                let mut prepared = GroupContext {
                    group: parsed.group,
                    source: parsed.source,
                }
                .prepare();
                let evaluation = self.evaluate_group(&mapping, &mut prepared, base);
                match evaluation.result {
                    Err(error) => DryRunOutput::failed(error, evaluation.logs),
                    Ok(GroupOutcome::Mapped(props)) => {
                        DryRunOutput::ended(DryRunOutcome::Mapped, to_json(&props), None, evaluation.logs)
                    }
                    Ok(GroupOutcome::Skipped { .. }) => {
                        DryRunOutput::ended(DryRunOutcome::Skipped, None, None, evaluation.logs)
                    }
                    Ok(GroupOutcome::Denied(denial)) => DryRunOutput::ended(
                        DryRunOutcome::Denied,
                        None,
                        Some(denial.message),
                        evaluation.logs,
                    ),
                }
            }
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Option<Value> {
    serde_json::to_value(value).ok()
}
