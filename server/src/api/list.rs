//! List endpoints: `page`, `page_size`, `search` and `ordering` parameters and the paginated
//! response shape `{"pagination": {...}, "results": [...]}` (authentik's).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{Ordering, Page};
use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Parameters every list endpoint takes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1-based page number.
    #[param(value_type = Option<i64>)]
    pub page: Option<String>,
    /// Results per page (1–1000, default 20).
    #[param(value_type = Option<i64>)]
    pub page_size: Option<String>,
    /// Free-text search over the resource's searchable fields.
    pub search: Option<String>,
    /// A field name, optionally prefixed with `-` for descending order.
    pub ordering: Option<String>,
}

impl ListParams {
    pub fn page(&self) -> Result<Page, ApiError> {
        let number = int_filter("page", &self.page)?.unwrap_or(1);
        if number < 1 {
            return Err(ApiError::field("page", "Page numbers start at 1."));
        }
        let size = int_filter("page_size", &self.page_size)?.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(ApiError::field(
                "page_size",
                format!("Page size must be between 1 and {MAX_PAGE_SIZE}."),
            ));
        }
        Ok(Page { number, size })
    }

    pub fn search(&self) -> Option<String> {
        self.search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// The requested ordering, checked against the fields the resource allows.
    pub fn ordering(&self, allowed: &[&str], default: &str) -> Result<Ordering, ApiError> {
        let raw = self
            .ordering
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(default);
        let (descending, field) = match raw.strip_prefix('-') {
            Some(field) => (true, field),
            None => (false, raw),
        };
        if !allowed.contains(&field) {
            return Err(ApiError::field(
                "ordering",
                format!("Cannot order by `{field}`; use one of: {}.", allowed.join(", ")),
            ));
        }
        Ok(Ordering {
            field: field.to_owned(),
            descending,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    pub count: i64,
    pub current: i64,
    pub total_pages: i64,
    /// Next page number, or 0 on the last page.
    pub next: i64,
    /// Previous page number, or 0 on the first page.
    pub previous: i64,
    pub start_index: i64,
    pub end_index: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T> {
    pub pagination: Pagination,
    pub results: Vec<T>,
}

impl<T> Paginated<T> {
    /// Builds the page; a page past the end is a 404, as in authentik.
    pub fn new(results: Vec<T>, count: i64, page: Page) -> Result<Self, ApiError> {
        let total_pages = if count == 0 {
            1
        } else {
            (count + page.size - 1) / page.size
        };
        if page.number > total_pages {
            return Err(ApiError::NotFound("Invalid page.".into()));
        }
        let start_index = if count == 0 { 0 } else { page.offset() + 1 };
        let end_index = page.offset() + results.len() as i64;
        Ok(Self {
            pagination: Pagination {
                count,
                current: page.number,
                total_pages,
                next: if page.number < total_pages {
                    page.number + 1
                } else {
                    0
                },
                previous: if page.number > 1 { page.number - 1 } else { 0 },
                start_index,
                end_index,
            },
            results,
        })
    }
}

/// Parses a boolean filter (`true`/`false`, also `1`/`0`), naming the parameter on error.
pub fn bool_filter(name: &str, value: &Option<String>) -> Result<Option<bool>, ApiError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some("true" | "True" | "1") => Ok(Some(true)),
        Some("false" | "False" | "0") => Ok(Some(false)),
        Some(other) => Err(ApiError::field(
            name,
            format!("`{other}` is not a boolean (true or false)."),
        )),
    }
}

/// Parses an integer filter, naming the parameter on error.
pub fn int_filter(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|_| ApiError::field(name, format!("`{raw}` is not an integer."))),
    }
}
