//! Authentication of admin API calls: `Authorization: Bearer <API token>`.
//! API tokens are looked up by the SHA-256 of the presented key.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::db::events::EventUser;
use crate::db::users::UserRow;
use crate::db::{self, time};
use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRow,
    /// Superuser directly or through a superuser group.
    pub is_superuser: bool,
    /// The API token identifier used, if the call was token-authenticated.
    pub token: Option<String>,
}

impl Caller {
    pub fn require_superuser(&self) -> Result<(), ApiError> {
        if self.is_superuser {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "You do not have permission to perform this action.".into(),
            ))
        }
    }

    pub fn event_user(&self) -> EventUser {
        EventUser {
            pk: self.user.id,
            username: self.user.username.clone(),
            email: self.user.email.clone(),
        }
    }
}

/// The bearer credential of a request, if any.
pub fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("Invalid Authorization header.".into()))?;
    let (scheme, credential) = value.split_once(' ').ok_or_else(|| {
        ApiError::Unauthenticated("Invalid Authorization header; expected `Bearer <token>`.".into())
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || credential.trim().is_empty() {
        return Err(ApiError::Unauthenticated(
            "Invalid Authorization header; expected `Bearer <token>`.".into(),
        ));
    }
    Ok(Some(credential.trim().to_owned()))
}

/// Resolves an API token key to its caller, or a 401 that says why.
pub async fn authenticate_token(state: &AppState, key: String) -> Result<Caller, ApiError> {
    let hash = crate::crypto::hash_key(&key);
    state
        .db
        .run(move |conn| {
            let (token, user) = db::tokens::authenticate(conn, &hash)?
                .ok_or_else(|| ApiError::Unauthenticated("Invalid token.".into()))?;
            let now = time::now();
            if token.expires.is_some_and(|expires| expires <= now) {
                return Err(ApiError::Unauthenticated("Token has expired.".into()));
            }
            if !user.is_active {
                return Err(ApiError::Unauthenticated("User is inactive.".into()));
            }
            if token.intent != "api" {
                return Err(ApiError::Unauthenticated(
                    "This token cannot be used for the API.".into(),
                ));
            }
            // Recording use on every request would turn reads into writes; once a minute is enough.
            if token
                .last_used
                .is_none_or(|at| now - at > chrono::Duration::seconds(60))
            {
                db::tokens::touch(conn, token.id, now)?;
            }
            let is_superuser = db::users::is_effective_superuser(conn, &user)?;
            Ok(Caller {
                user,
                is_superuser,
                token: Some(token.identifier),
            })
        })
        .await
}

/// Resolves a browser session cookie to its caller.
pub async fn authenticate_session(state: &AppState, cookie: String) -> Result<Caller, ApiError> {
    state
        .db
        .run(move |conn| {
            let user = crate::sessions::resolve(conn, &cookie, time::now())?
                .ok_or_else(|| ApiError::Unauthenticated("Your session has expired; log in again.".into()))?;
            let is_superuser = db::users::is_effective_superuser(conn, &user)?;
            Ok(Caller {
                user,
                is_superuser,
                token: None,
            })
        })
        .await
}

/// Why a request has no caller. Kept in the request extensions, hence `Clone`.
#[derive(Debug, Clone)]
pub enum AuthFailure {
    Unauthenticated(String),
    Unavailable(String),
    Internal(String),
}

impl From<AuthFailure> for ApiError {
    fn from(failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Unauthenticated(m) => Self::Unauthenticated(m),
            AuthFailure::Unavailable(m) => Self::Unavailable(m),
            AuthFailure::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<ApiError> for AuthFailure {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Unavailable(m) => Self::Unavailable(m),
            ApiError::Unauthenticated(m) => Self::Unauthenticated(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
struct Authenticated(Result<Caller, AuthFailure>);

/// Middleware on the API scope: resolves the caller before any handler extractor runs, so that
/// an unauthenticated request is answered 401 before its body is even parsed.
pub async fn resolve(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // A browser session authenticates read-only calls (e.g. `core/users/me/` from a page); changes
    // need a token, so that another site cannot make a logged-in browser write through the API.
    let session = if req.method().is_safe() {
        crate::web::cookies::read(req.request(), crate::sessions::SESSION_COOKIE)
    } else {
        None
    };
    let outcome = match (state, bearer(req.request())) {
        (None, _) => Err(AuthFailure::Internal("application state missing".into())),
        (_, Err(e)) => Err(e.into()),
        (Some(state), Ok(Some(key))) => authenticate_token(&state, key).await.map_err(AuthFailure::from),
        (Some(state), Ok(None)) => match session {
            Some(cookie) => authenticate_session(&state, cookie)
                .await
                .map_err(AuthFailure::from),
            None => Err(AuthFailure::Unauthenticated(
                "Authentication credentials were not provided.".into(),
            )),
        },
    };
    req.extensions_mut().insert(Authenticated(outcome));
    next.call(req).await
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = match req.extensions().get::<Authenticated>() {
            Some(Authenticated(outcome)) => outcome.clone().map_err(ApiError::from),
            None => Err(ApiError::Internal(
                "caller extracted outside the API scope".into(),
            )),
        };
        ready(outcome)
    }
}
