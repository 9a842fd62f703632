//! Newtype ids, so that one kind of row id cannot be passed where another is expected.

use serde::{Deserialize, Serialize};

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// `users.id`; also the user's API `pk`.
    UserId
);
row_id!(
    /// `groups.id`; the API addresses groups by their UUID.
    GroupId
);
row_id!(
    /// `api_tokens.id`; the API addresses tokens by their identifier.
    TokenId
);
