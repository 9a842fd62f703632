//! The executor: walks a plan stage by stage. `show` answers a page view (GET), `submit` a form
//! or JSON answer (POST). Both return a [`Step`]: what to show or where to go, and the cookie
//! changes to make.
//!
//! State handling, in short:
//! - the browser holds a random flow token in a cookie; `flow_states` keys the state by its hash;
//! - the first page of a flow is rendered without writing anything (page views are free); the
//!   state row is created by the first accepted submission;
//! - every form carries the `step` it was rendered for and a CSRF token derived from the flow
//!   token; a stale step (replay, double submit) or a missing/foreign token is refused;
//! - an accepted submission and everything it causes (users written, session created, the next
//!   state) commit in one transaction — a failure leaves nothing half-written. Password checks run
//!   before that transaction, so argon2 never holds SQLite's write lock.

use chrono::{Duration, NaiveDateTime};
use serde_json::{Map, Value, json};

use super::challenge::Challenge;
use super::context::FlowContext;
use super::model::safe_next;
use super::planner::{self, Decision};
use super::stages::{self, Effect, FlowEnv, FlowError, PlannedStage, StageCtx, StageOutcome};
use crate::crypto;
use crate::db::flow_states::{FlowStateChanges, FlowStateRow, NewFlowState};
use crate::db::flows::FlowRow;
use crate::db::users::UserRow;
use crate::db::{self, DbConn, StoreError, write_tx};

/// How long an idle flow stays valid.
pub const FLOW_TTL_MINUTES: i64 = 30;
/// How long a finished flow's row is kept, so that replays are recognised as such.
pub const FINISHED_TTL_MINUTES: i64 = 30;
pub const DEFAULT_AUTHENTICATION_URL: &str = "/flows/-/default/authentication/";

/// What a request asks of the executor.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub slug: &'a str,
    /// The browser's flow cookie.
    pub flow_token: Option<&'a str>,
    pub session_user: Option<&'a UserRow>,
    /// The raw `next` query parameter, checked here.
    pub next: Option<&'a str>,
    /// Path and query of this request, to come back to after a login.
    pub return_to: &'a str,
    /// OIDC `login_hint` passed on by the provider: pre-fills the identification stage.
    pub login_hint: Option<&'a str>,
}

#[derive(Debug)]
pub struct Step {
    pub outcome: Outcome,
    pub effects: Vec<Effect>,
}

#[derive(Debug)]
pub enum Outcome {
    /// Show this stage; forms must carry `csrf_token`.
    Show {
        challenge: Challenge,
        csrf_token: String,
    },
    Redirect(String),
    Denied(String),
    Problem(Problem),
}

/// A readable failure: a status, a title and a message for the page, and where to start again.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: u16,
    pub title: String,
    pub message: String,
    pub restart: Option<String>,
}

impl Problem {
    fn new(status: u16, title: &str, message: impl Into<String>, restart: Option<String>) -> Self {
        Self {
            status,
            title: title.to_owned(),
            message: message.into(),
            restart,
        }
    }
}

fn problem(status: u16, title: &str, message: impl Into<String>, restart: Option<String>) -> Step {
    Step {
        outcome: Outcome::Problem(Problem::new(status, title, message, restart)),
        effects: Vec::new(),
    }
}

fn flow_url(slug: &str) -> String {
    format!("/if/flow/{slug}/")
}

/// A flow in progress, loaded or freshly planned.
struct Working {
    /// The flow cookie value (raw); the row is keyed by its hash.
    token: String,
    row: Option<FlowStateRow>,
    stages: Vec<PlannedStage>,
    context: FlowContext,
    position: usize,
    step: i32,
    /// Store the state even when it waits at its first stage (a flow started by a source's
    /// callback: the browser continues on the flow's page, which must find it).
    force_store: bool,
}

enum Run {
    Waiting(Challenge),
    Suspended { to: String, timeout_seconds: i64 },
    Finished,
    Denied(String),
    Failed(FlowError),
}

fn load(row: &FlowStateRow) -> Result<(Vec<PlannedStage>, FlowContext), StoreError> {
    Ok((
        serde_json::from_str(&row.plan)?,
        serde_json::from_str(&row.context)?,
    ))
}

/// Runs stages from the current position: `submission` goes to the current stage, the following
/// ones are entered until one waits for the user, suspends, denies or the plan ends.
fn run(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    flow: &FlowRow,
    working: &mut Working,
    mut submission: Option<&Map<String, Value>>,
    effects: &mut Vec<Effect>,
) -> Run {
    let flow_key = crypto::hash_key(&working.token);
    loop {
        let Some(stage) = working.stages.get(working.position) else {
            return Run::Finished;
        };
        let Some(kind) = stages::find(&stage.kind) else {
            return Run::Failed(FlowError::misconfigured(format!(
                "unknown stage kind `{}`",
                stage.kind
            )));
        };
        let mut ctx = StageCtx {
            conn,
            env,
            flow,
            flow_key: &flow_key,
            stage,
            context: &mut working.context,
            effects,
        };
        let outcome = match submission.take() {
            Some(response) => kind.submit(&mut ctx, response),
            None => kind.enter(&mut ctx),
        };
        match outcome {
            Ok(StageOutcome::Next) => working.position += 1,
            Ok(StageOutcome::Show(challenge)) => return Run::Waiting(challenge),
            Ok(StageOutcome::Suspend { to, timeout_seconds }) => {
                return Run::Suspended { to, timeout_seconds };
            }
            Ok(StageOutcome::Deny(message)) => return Run::Denied(message),
            Err(error) => return Run::Failed(error),
        }
    }
}

/// Writes the state after a step: a new row for a fresh flow (its unique key makes a replayed
/// first form lose), or an update conditional on the step it was loaded at.
fn persist(
    conn: &mut DbConn,
    flow: &FlowRow,
    working: &Working,
    finished: bool,
    expires: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let plan = serde_json::to_string(&working.stages)?;
    let context = serde_json::to_string(&working.context)?;
    let position = i32::try_from(working.position).unwrap_or(i32::MAX);
    match &working.row {
        None => {
            let inserted = db::flow_states::insert(
                conn,
                &NewFlowState {
                    key_hash: crypto::hash_key(&working.token),
                    flow_id: flow.id,
                    plan,
                    context,
                    position,
                    step: working.step,
                    finished,
                    expires,
                    created: now,
                    updated: now,
                },
            );
            match inserted {
                Ok(()) => Ok(true),
                Err(StoreError::Unique { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        }
        Some(row) => db::flow_states::advance(
            conn,
            row.id,
            row.step,
            &FlowStateChanges {
                flow_id: flow.id,
                plan,
                context,
                position,
                step: working.step,
                finished,
                expires,
                updated: now,
            },
        ),
    }
}

/// Starts a flow or shows where the browser's flow stands (GET).
pub fn show(conn: &mut DbConn, env: FlowEnv<'_>, request: Request<'_>) -> Result<Step, StoreError> {
    let flow = match db::flows::flow_by_slug(conn, request.slug) {
        Ok(flow) => flow,
        Err(StoreError::NotFound) => {
            return Ok(problem(
                404,
                "Not found",
                "This sign-in flow does not exist.",
                Some("/".into()),
            ));
        }
        Err(e) => return Err(e),
    };
    // Continue the browser's flow if it is this one and still live.
    if let Some(token) = request.flow_token
        && let Some(row) = db::flow_states::find(conn, &crypto::hash_key(token))?
        && row.flow_id == flow.id
        && !row.finished
        && row.expires > env.now
    {
        let (stages, context) = load(&row)?;
        let mut working = Working {
            token: token.to_owned(),
            position: usize::try_from(row.position).unwrap_or(0),
            step: row.step,
            row: Some(row),
            stages,
            context,
            force_store: false,
        };
        return proceed(conn, env, &flow, &mut working, None, Vec::new());
    }
    start(conn, env, &flow, request)
}

fn start(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    flow: &FlowRow,
    request: Request<'_>,
) -> Result<Step, StoreError> {
    let next = match request.next.filter(|n| !n.is_empty()) {
        None => None,
        Some(raw) => match safe_next(raw) {
            Some(next) => Some(next.to_owned()),
            None => {
                return Ok(problem(
                    400,
                    "Invalid redirect",
                    "The `next` parameter must be a path on this server, such as `/`.",
                    Some(flow_url(&flow.slug)),
                ));
            }
        },
    };
    let (stages, mut context) = match planner::plan(conn, flow, request.session_user)? {
        Decision::Plan { stages, context } => (stages, *context),
        Decision::LoginRequired => {
            let target = format!(
                "{DEFAULT_AUTHENTICATION_URL}?next={}",
                url::form_urlencoded::byte_serialize(request.return_to.as_bytes()).collect::<String>()
            );
            return Ok(Step {
                outcome: Outcome::Redirect(target),
                effects: Vec::new(),
            });
        }
        Decision::AlreadyAuthenticated => {
            return Ok(Step {
                outcome: Outcome::Redirect(next.unwrap_or_else(|| "/".into())),
                effects: Vec::new(),
            });
        }
        Decision::Denied(message) => {
            return Ok(Step {
                outcome: Outcome::Denied(message),
                effects: Vec::new(),
            });
        }
    };
    context.next = next;
    if let Some(hint) = request.login_hint.filter(|h| !h.is_empty() && h.len() <= 256) {
        context.pending_identifier = Some(hint.to_owned());
    }
    let token = crypto::random_token(32).map_err(|e| StoreError::Internal(e.to_string()))?;
    let mut working = Working {
        token: token.clone(),
        row: None,
        stages,
        context,
        position: 0,
        step: 0,
        force_store: false,
    };
    proceed(
        conn,
        env,
        flow,
        &mut working,
        None,
        vec![Effect::SetFlowCookie(token)],
    )
}

/// Plans a flow for a caller that brings its own context (a source's callback), without a
/// browser page in between, and runs it. `extra_stages` run just before the first `user_login`.
/// `next`/`resume` in `context` are honoured at the end.
pub fn start_with_context(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    flow: &FlowRow,
    session_user: Option<&UserRow>,
    context: FlowContext,
    extra_stages: Vec<PlannedStage>,
) -> Result<Step, StoreError> {
    let (mut stages, planned_context) = match planner::plan(conn, flow, session_user)? {
        Decision::Plan { stages, context } => (stages, *context),
        Decision::AlreadyAuthenticated | Decision::LoginRequired => (
            db::flows::bound_stages(conn, flow.id)?
                .into_iter()
                .map(|(_, s)| PlannedStage {
                    settings: s.settings_json(),
                    uuid: Some(s.uuid),
                    name: s.name,
                    kind: s.kind,
                })
                .collect(),
            FlowContext::default(),
        ),
        Decision::Denied(message) => {
            return Ok(Step {
                outcome: Outcome::Denied(message),
                effects: Vec::new(),
            });
        }
    };
    // Before the first login stage: what the source says is written before a session exists, so
    // that a refusal (a taken username, a refused group) cannot leave a logged-in browser behind.
    let at = stages
        .iter()
        .position(|s| s.kind == "user_login")
        .unwrap_or(stages.len());
    stages.splice(at..at, extra_stages);
    let context = FlowContext {
        session_user: planned_context.session_user.or(context.session_user),
        ..context
    };
    let token = crypto::random_token(32).map_err(|e| StoreError::Internal(e.to_string()))?;
    let mut working = Working {
        token: token.clone(),
        row: None,
        stages,
        context,
        position: 0,
        step: 0,
        force_store: true,
    };
    proceed(
        conn,
        env,
        flow,
        &mut working,
        None,
        vec![Effect::SetFlowCookie(token)],
    )
}

/// Whether running from the current position writes (so needs a transaction).
fn writes_from_here(working: &Working) -> bool {
    working
        .stages
        .get(working.position)
        .and_then(|s| stages::find(&s.kind))
        .is_none_or(|kind| !kind.interactive())
}

/// Runs from the current position without a submission (page view, or after a source returned).
fn proceed(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    flow: &FlowRow,
    working: &mut Working,
    submission: Option<&Map<String, Value>>,
    effects: Vec<Effect>,
) -> Result<Step, StoreError> {
    if writes_from_here(working) || submission.is_some() {
        commit_run(conn, env, flow, working, submission, effects, false)
    } else {
        let mut effects = effects;
        let run = run(conn, env, flow, working, None, &mut effects);
        finish_step(conn, env, flow, working, run, effects, false)
    }
}

/// Runs stages inside one write transaction; on a flow error the transaction is rolled back
/// and the error is recorded afterwards.
fn commit_run(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    flow: &FlowRow,
    working: &mut Working,
    submission: Option<&Map<String, Value>>,
    effects: Vec<Effect>,
    claim_step: bool,
) -> Result<Step, StoreError> {
    let snapshot = (working.context.clone(), working.position, working.step);
    let result = write_tx(conn, |conn| {
        let mut effects = effects.clone();
        let run = run(conn, env, flow, working, submission, &mut effects);
        if let Run::Failed(error) = run {
            return Err(TxAbort::Flow(error));
        }
        finish_step(conn, env, flow, working, run, effects, claim_step).map_err(TxAbort::Store)
    });
    match result {
        Ok(step) => Ok(step),
        Err(TxAbort::Store(e)) => Err(e),
        Err(TxAbort::Flow(error)) => {
            (working.context, working.position, working.step) = snapshot;
            flow_error(conn, env, flow, error)
        }
    }
}

enum TxAbort {
    Store(StoreError),
    Flow(FlowError),
}

impl From<diesel::result::Error> for TxAbort {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Shows a stage failure as a readable page and records it (outside the rolled-back work).
fn flow_error(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    flow: &FlowRow,
    error: FlowError,
) -> Result<Step, StoreError> {
    if let Some(store) = error.store {
        return Err(store);
    }
    tracing::warn!(flow = %flow.slug, message = %error.message, detail = ?error.detail, "flow error");
    db::events::insert(
        conn,
        &db::events::Event {
            action: "flow_error",
            user: None,
            context: json!({"flow": flow.slug, "message": error.message, "detail": error.detail}),
            client_ip: env.client.ip.as_deref(),
        },
    )?;
    let status = if error.detail.is_some() && error.message.contains("misconfigured") {
        500
    } else {
        400
    };
    Ok(Step {
        outcome: Outcome::Problem(Problem::new(
            status,
            "Sign-in failed",
            error.message,
            Some(flow_url(&flow.slug)),
        )),
        effects: vec![Effect::ClearFlowCookie],
    })
}

/// Stores a finished or denied flow so that a replayed form is recognised; false when a
/// concurrent submission of the same step got there first. A flow that started and ended within
/// this one request was never seen by a browser (its cookie is set and cleared in the same
/// response): nothing can replay it, so nothing is stored. That also keeps a source login's
/// upstream data (thousands of groups in the planned sync stage) out of `flow_states`.
fn record_end(
    conn: &mut DbConn,
    flow: &FlowRow,
    working: &Working,
    claim_step: bool,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    if working.row.is_none() && !claim_step {
        return Ok(true);
    }
    persist(
        conn,
        flow,
        working,
        true,
        now + Duration::minutes(FINISHED_TTL_MINUTES),
        now,
    )
}

/// Turns a run into a step, persisting the state as needed.
fn finish_step(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    flow: &FlowRow,
    working: &mut Working,
    run: Run,
    mut effects: Vec<Effect>,
    claim_step: bool,
) -> Result<Step, StoreError> {
    let now = env.now;
    let live = now + Duration::minutes(FLOW_TTL_MINUTES);
    if claim_step {
        working.step += 1;
    }
    let replayed = || {
        problem(
            409,
            "Already submitted",
            "This form was already submitted. Start again.",
            Some(flow_url(&flow.slug)),
        )
    };
    match run {
        Run::Waiting(mut challenge) => {
            // The first page of a fresh flow needs no row; anything later does.
            if (working.row.is_some() || working.position > 0 || claim_step || working.force_store)
                && !persist(conn, flow, working, false, live, now)?
            {
                return Ok(replayed());
            }
            challenge.step = working.step;
            Ok(Step {
                outcome: Outcome::Show {
                    csrf_token: env.keys.csrf_token(&working.token),
                    challenge,
                },
                effects,
            })
        }
        Run::Suspended { to, timeout_seconds } => {
            if !persist(
                conn,
                flow,
                working,
                false,
                now + Duration::seconds(timeout_seconds),
                now,
            )? {
                return Ok(replayed());
            }
            effects.push(Effect::SetFlowCookie(working.token.clone()));
            Ok(Step {
                outcome: Outcome::Redirect(to),
                effects,
            })
        }
        Run::Denied(message) => {
            if !record_end(conn, flow, working, claim_step, now)? {
                return Ok(replayed());
            }
            effects.push(Effect::ClearFlowCookie);
            // An authorization flow reports the refusal to the application that asked.
            if let Some(target) = env.end.on_flow_end(conn, env, &working.context, Some(&message))? {
                return Ok(Step {
                    outcome: Outcome::Redirect(target),
                    effects,
                });
            }
            Ok(Step {
                outcome: Outcome::Denied(message),
                effects,
            })
        }
        Run::Finished => {
            if !record_end(conn, flow, working, claim_step, now)? {
                return Ok(replayed());
            }
            effects.push(Effect::ClearFlowCookie);
            if let Some(resume) = working.context.resume.clone() {
                return resume_suspended(conn, env, &resume, &working.context, effects);
            }
            // An authorization flow ends at the application, with a code.
            if let Some(target) = env.end.on_flow_end(conn, env, &working.context, None)? {
                return Ok(Step {
                    outcome: Outcome::Redirect(target),
                    effects,
                });
            }
            let target = working.context.next.clone().unwrap_or_else(|| "/".into());
            Ok(Step {
                outcome: Outcome::Redirect(target),
                effects,
            })
        }
        Run::Failed(error) => Err(error.store.unwrap_or(StoreError::Internal(error.message))),
    }
}

/// After a source's own flow finished: give the browser back the flow it left at a source stage.
fn resume_suspended(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    key_hash: &str,
    finished: &FlowContext,
    mut effects: Vec<Effect>,
) -> Result<Step, StoreError> {
    let Some(row) = db::flow_states::find_by_hash(conn, key_hash)? else {
        return Ok(problem(
            410,
            "Expired",
            "The sign-in you started has expired. Start again.",
            Some("/".into()),
        ));
    };
    if row.finished || row.expires <= env.now {
        return Ok(problem(
            410,
            "Expired",
            "The sign-in you started has expired. Start again.",
            Some("/".into()),
        ));
    }
    let flow = db::flows::flow_by_id(conn, row.flow_id)?;
    let (_, mut context) = load(&row)?;
    let source_slug = finished
        .source
        .as_ref()
        .and_then(|s| s.get("slug"))
        .cloned()
        .unwrap_or(Value::Null);
    context.extra.insert(stages::source::RETURNED.into(), source_slug);
    // The user the source signed in is the one this flow continues with.
    if finished.pending_user.is_some() {
        context.pending_user = finished.pending_user;
    }
    if finished.session_user.is_some() {
        context.session_user = finished.session_user;
    }
    // Re-key the suspended state: the browser gets a new cookie for it (only hashes are stored).
    let token = crypto::random_token(32).map_err(|e| StoreError::Internal(e.to_string()))?;
    db::flow_states::rekey(
        conn,
        row.id,
        &crypto::hash_key(&token),
        &serde_json::to_string(&context)?,
        env.now + Duration::minutes(FLOW_TTL_MINUTES),
    )?;
    effects.retain(|e| *e != Effect::ClearFlowCookie);
    effects.push(Effect::SetFlowCookie(token));
    Ok(Step {
        outcome: Outcome::Redirect(flow_url(&flow.slug)),
        effects,
    })
}

/// A submission: a browser form (`csrf` required) or a JSON answer (`csrf` is `None`; the JSON
/// content type already keeps other sites out).
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    pub response: &'a Map<String, Value>,
    pub step: Option<i32>,
    pub csrf: Option<Option<&'a str>>,
}

/// Handles a submission (POST).
pub fn submit(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    request: Request<'_>,
    submission: Submission<'_>,
) -> Result<Step, StoreError> {
    let flow = match db::flows::flow_by_slug(conn, request.slug) {
        Ok(flow) => flow,
        Err(StoreError::NotFound) => {
            return Ok(problem(
                404,
                "Not found",
                "This sign-in flow does not exist.",
                Some("/".into()),
            ));
        }
        Err(e) => return Err(e),
    };
    let restart = Some(flow_url(&flow.slug));
    let Some(token) = request.flow_token.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return Ok(problem(
            400,
            "Session expired",
            "Your browser did not send the sign-in cookie (cookies may be blocked, or the page is old). Start again.",
            restart,
        ));
    };
    if let Some(csrf) = submission.csrf {
        match csrf {
            Some(value) if env.keys.verify_csrf(token, value) => {}
            _ => {
                return Ok(problem(
                    403,
                    "Form not accepted",
                    "The form could not be verified (it may come from another site, or the page is old). Reload the page and try again.",
                    restart,
                ));
            }
        }
    }
    let row = db::flow_states::find(conn, &crypto::hash_key(token))?;
    let mut working = match row {
        Some(row) if row.flow_id != flow.id || row.finished => {
            return Ok(problem(
                409,
                "Already submitted",
                "This form was already submitted. Start again.",
                restart,
            ));
        }
        Some(row) if row.expires <= env.now => {
            let mut step = problem(
                410,
                "Expired",
                "Your sign-in took too long and has expired. Start again.",
                restart,
            );
            step.effects.push(Effect::ClearFlowCookie);
            return Ok(step);
        }
        Some(row) => {
            if submission.step.is_some_and(|s| s != row.step) {
                return Ok(problem(
                    409,
                    "Already submitted",
                    "This form was already submitted. Start again.",
                    restart,
                ));
            }
            let (stages, context) = load(&row)?;
            Working {
                token: token.to_owned(),
                position: usize::try_from(row.position).unwrap_or(0),
                step: row.step,
                row: Some(row),
                stages,
                context,
                force_store: false,
            }
        }
        None => {
            if submission.step.is_some_and(|s| s != 0) {
                let mut step = problem(410, "Expired", "Your sign-in has expired. Start again.", restart);
                step.effects.push(Effect::ClearFlowCookie);
                return Ok(step);
            }
            // The first form of a flow: plan it now (nothing was stored when it was shown).
            match start(conn, env, &flow, request)? {
                Step {
                    outcome: Outcome::Show { .. },
                    ..
                } => {}
                other => return Ok(other),
            }
            let (stages, mut context) = match planner::plan(conn, &flow, request.session_user)? {
                Decision::Plan { stages, context } => (stages, *context),
                _ => {
                    return Ok(problem(
                        400,
                        "Start again",
                        "This sign-in cannot continue. Start again.",
                        restart,
                    ));
                }
            };
            context.next = request.next.and_then(safe_next).map(str::to_owned);
            Working {
                token: token.to_owned(),
                row: None,
                stages,
                context,
                position: 0,
                step: 0,
                force_store: false,
            }
        }
    };
    let Some(current) = working.stages.get(working.position).cloned() else {
        return Ok(problem(
            409,
            "Already submitted",
            "This form was already submitted. Start again.",
            restart,
        ));
    };
    let Some(kind) = stages::find(&current.kind) else {
        return flow_error(
            conn,
            env,
            &flow,
            FlowError::misconfigured(format!("unknown stage kind `{}`", current.kind)),
        );
    };
    if !kind.interactive() {
        // Nothing to answer here; show where the flow stands.
        return proceed(conn, env, &flow, &mut working, None, Vec::new());
    }
    // Phase 1, outside any transaction: the interactive stage checks the answer (argon2 included).
    let mut effects = Vec::new();
    let flow_key = crypto::hash_key(&working.token);
    let outcome = {
        let mut ctx = StageCtx {
            conn,
            env,
            flow: &flow,
            flow_key: &flow_key,
            stage: &current,
            context: &mut working.context,
            effects: &mut effects,
        };
        kind.submit(&mut ctx, submission.response)
    };
    match outcome {
        Ok(StageOutcome::Next) => {
            working.position += 1;
            // Phase 2, one transaction: claim the step, run what follows, store the new state.
            commit_run(conn, env, &flow, &mut working, None, effects, true)
        }
        Ok(StageOutcome::Show(challenge)) => {
            // Rejected answer: a stored flow keeps its state; a fresh one stays unstored (the
            // password stage counts its failures per flow cookie in `rate_limits`, so its
            // `failed_attempts_before_cancel` holds without a stored flow).
            if working.row.is_some()
                && !persist(
                    conn,
                    &flow,
                    &working,
                    false,
                    env.now + Duration::minutes(FLOW_TTL_MINUTES),
                    env.now,
                )?
            {
                return Ok(problem(
                    409,
                    "Already submitted",
                    "This form was already submitted. Start again.",
                    restart,
                ));
            }
            let mut challenge = challenge;
            challenge.step = working.step;
            Ok(Step {
                outcome: Outcome::Show {
                    csrf_token: env.keys.csrf_token(&working.token),
                    challenge,
                },
                effects,
            })
        }
        Ok(StageOutcome::Deny(message)) => write_tx(conn, |conn| {
            finish_step(
                conn,
                env,
                &flow,
                &mut working,
                Run::Denied(message),
                effects,
                true,
            )
        }),
        Ok(StageOutcome::Suspend { to, timeout_seconds }) => write_tx(conn, |conn| {
            finish_step(
                conn,
                env,
                &flow,
                &mut working,
                Run::Suspended { to, timeout_seconds },
                effects,
                true,
            )
        }),
        Err(error) => flow_error(conn, env, &flow, error),
    }
}

/// `/flows/-/cancel/`: forgets the browser's flow.
pub fn cancel(conn: &mut DbConn, flow_token: Option<&str>) -> Result<(), StoreError> {
    if let Some(token) = flow_token {
        db::flow_states::delete_by_hash(conn, &crypto::hash_key(token))?;
    }
    Ok(())
}
