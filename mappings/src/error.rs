//! Mapping errors: what went wrong, in which mapping, where in the script.

use rhai::{EvalAltResult, ParseError, ParseErrorType, Position};
use serde::Serialize;
use std::fmt;

/// Which limit of [`crate::Limits`] (or fixed sandbox cap) a script ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// `max_operations`.
    Operations,
    /// `max_call_levels`.
    CallLevels,
    /// `max_expr_depth` / `max_fn_expr_depth`.
    ExpressionDepth,
    /// `max_string_size`.
    StringSize,
    /// `max_array_size`.
    ArraySize,
    /// `max_map_size`.
    MapSize,
    /// The fixed cap on variables in scope.
    Variables,
    /// The fixed cap on functions defined by one script.
    Functions,
    /// The fixed cap on regular-expression pattern size.
    RegexSize,
    /// `max_memory_bytes`: the estimated size of all of one evaluation's values.
    Memory,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Operations => "max_operations",
            Self::CallLevels => "max_call_levels",
            Self::ExpressionDepth => "max_expr_depth",
            Self::StringSize => "max_string_size",
            Self::ArraySize => "max_array_size",
            Self::MapSize => "max_map_size",
            Self::Variables => "variables",
            Self::Functions => "functions",
            Self::RegexSize => "regex pattern size",
            Self::Memory => "max_memory_bytes",
        })
    }
}

/// The class of a [`MappingError`]. A denial is not an error: see [`crate::Denial`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The script does not parse (also: unknown variable, `eval`, `import`).
    Syntax,
    /// The script failed while running (`throw`, bad index, missing function, …).
    Runtime,
    /// The script ran into a limit.
    LimitExceeded(Limit),
    /// The script ran past its wall-clock budget.
    Timeout,
    /// The script returned a value of the wrong type, or an unknown property key.
    Type,
    /// The evaluation context (dry run input) is malformed.
    InvalidContext,
}

impl ErrorKind {
    /// Stable snake_case name, used in JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Syntax => "syntax",
            Self::Runtime => "runtime",
            Self::LimitExceeded(_) => "limit_exceeded",
            Self::Timeout => "timeout",
            Self::Type => "type",
            Self::InvalidContext => "invalid_context",
        }
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A failed mapping evaluation or compilation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingError {
    /// Name of the mapping that failed.
    pub mapping: String,
    /// What kind of failure.
    pub kind: ErrorKind,
    /// Which limit, when `kind` is [`ErrorKind::LimitExceeded`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// Human-readable description, without the position.
    pub message: String,
    /// The property key at fault, for type errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// 1-based line in the script, when known.
    pub line: Option<usize>,
    /// 1-based column in the script, when known.
    pub column: Option<usize>,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "property mapping '{}'", self.mapping)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, " (line {line}, column {column})")?,
            (Some(line), None) => write!(f, " (line {line})")?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for MappingError {}

impl MappingError {
    pub(crate) fn new(mapping: &str, kind: ErrorKind, message: impl Into<String>) -> Self {
        let limit = match kind {
            ErrorKind::LimitExceeded(limit) => Some(limit),
            _ => None,
        };
        Self {
            mapping: mapping.to_owned(),
            kind,
            limit,
            message: message.into(),
            key: None,
            line: None,
            column: None,
        }
    }

    pub(crate) fn type_error(mapping: &str, key: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(mapping, ErrorKind::Type, message);
        error.key = Some(key.to_owned());
        error
    }

    pub(crate) fn at(mut self, position: Position) -> Self {
        self.line = position.line();
        self.column = position.position();
        self
    }

    /// Translates a Rhai compile error.
    pub(crate) fn from_parse(mapping: &str, error: &ParseError) -> Self {
        let kind = match &*error.0 {
            ParseErrorType::ExprTooDeep => ErrorKind::LimitExceeded(Limit::ExpressionDepth),
            ParseErrorType::TooManyFunctions => ErrorKind::LimitExceeded(Limit::Functions),
            ParseErrorType::LiteralTooLarge(what, _) => ErrorKind::LimitExceeded(size_limit(what)),
            _ => ErrorKind::Syntax,
        };
        let message = match &*error.0 {
            ParseErrorType::VariableUndefined(name) => format!("unknown variable '{name}'"),
            ParseErrorType::Reserved(word) if word == "eval" || word == "import" || word == "export" => {
                format!("'{word}' is not allowed in property mappings")
            }
            other => other.to_string(),
        };
        Self::new(mapping, kind, message).at(error.1)
    }

    /// Translates a Rhai run-time error, looking through function-call wrappers so that the
    /// message and position are those of the statement that actually failed.
    pub(crate) fn from_eval(mapping: &str, error: &EvalAltResult) -> Self {
        let mut innermost = error;
        let mut position = error.position();
        while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) = innermost
        {
            innermost = inner;
            if !inner.position().is_none() {
                position = inner.position();
            }
        }
        let (kind, message) = match innermost {
            EvalAltResult::ErrorParsing(parse, _) => (ErrorKind::Syntax, parse.to_string()),
            EvalAltResult::ErrorTooManyOperations(_) => (
                ErrorKind::LimitExceeded(Limit::Operations),
                "too many operations: the script exceeded max_operations".to_owned(),
            ),
            EvalAltResult::ErrorStackOverflow(_) => (
                ErrorKind::LimitExceeded(Limit::CallLevels),
                "function calls nested too deeply: the script exceeded max_call_levels".to_owned(),
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                let limit = size_limit(what);
                (ErrorKind::LimitExceeded(limit), format!("{what} exceeds {limit}"))
            }
            EvalAltResult::ErrorTooManyVariables(_) => (
                ErrorKind::LimitExceeded(Limit::Variables),
                "too many variables defined".to_owned(),
            ),
            EvalAltResult::ErrorRuntime(value, _) => (ErrorKind::Runtime, value.to_string()),
            EvalAltResult::ErrorVariableNotFound(name, _) => (
                ErrorKind::Runtime,
                format!("unknown variable '{name}' in this kind of mapping"),
            ),
            other => {
                let text = other.to_string();
                let suffix = format!(" ({})", other.position());
                let text = match text.strip_suffix(&suffix) {
                    Some(stripped) if !other.position().is_none() => stripped.to_owned(),
                    _ => text,
                };
                (ErrorKind::Runtime, text)
            }
        };
        Self::new(mapping, kind, message).at(position)
    }
}

fn size_limit(what: &str) -> Limit {
    let what = what.to_ascii_lowercase();
    if what.contains("regex") {
        Limit::RegexSize
    } else if what.contains("memory") {
        Limit::Memory
    } else if what.contains("array") || what.contains("blob") {
        Limit::ArraySize
    } else if what.contains("map") {
        Limit::MapSize
    } else {
        Limit::StringSize
    }
}
