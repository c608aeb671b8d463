//! `POST /ledger/verify`: `annals verify` as a job a superuser starts over HTTP and follows at
//! `GET /ledger/verify/{job_id}` (events checked of the ledger's size, then the report). One
//! job runs at a time; the last [`KEPT`] finished ones are kept in memory for their callers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use annals_domain::access::{Denial, Need};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{SecondsFormat, Utc};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use uuid::Uuid;

use super::routes::{LedgerError, LedgerErrorBody};
use super::verify::{self, VerifyReport};
use crate::access::guard::{self, Attempt};
use crate::access::resolve::{self, AuthFailure};
use crate::state::AppState;

/// Finished jobs kept for `GET`.
const KEPT: usize = 16;

/// A verification job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyJob {
    pub job_id: Uuid,
    /// `running`, `verified` (the log matches its ledger), `diverged` or `failed`.
    pub status: &'static str,
    /// Events checked so far.
    pub checked: u64,
    /// The ledger's signed size when the job started.
    pub total: u64,
    /// ISO 8601, UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// What the verification found, once finished.
    pub report: Option<VerifyReport>,
    /// Why the job could not finish.
    pub error: Option<String>,
}

/// The jobs of this server (in `AppState`).
#[derive(Clone, Default)]
pub struct VerifyJobs(Arc<Mutex<VecDeque<VerifyJob>>>);

impl VerifyJobs {
    fn get(&self, id: Uuid) -> Option<VerifyJob> {
        let jobs = self.0.lock().expect("verify jobs");
        jobs.iter().find(|j| j.job_id == id).cloned()
    }

    fn update(&self, id: Uuid, change: impl FnOnce(&mut VerifyJob)) {
        let mut jobs = self.0.lock().expect("verify jobs");
        if let Some(job) = jobs.iter_mut().find(|j| j.job_id == id) {
            change(job);
        }
    }

    /// Starts a job unless one is running; answers it (or the running one, and `false`).
    fn start(&self) -> (VerifyJob, bool) {
        let mut jobs = self.0.lock().expect("verify jobs");
        if let Some(running) = jobs.iter().find(|j| j.status == "running") {
            return (running.clone(), false);
        }
        let job = VerifyJob {
            job_id: Uuid::new_v4(),
            status: "running",
            checked: 0,
            total: 0,
            started_at: now(),
            finished_at: None,
            report: None,
            error: None,
        };
        jobs.push_front(job.clone());
        jobs.truncate(KEPT + 1);
        (job, true)
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn refused(status: StatusCode, message: &str) -> LedgerError {
    LedgerError::new(status, message)
}

/// Only a superuser (with `super:user`) may start or follow a verification.
async fn superuser(state: &AppState, parts: &mut Parts) -> Result<(), LedgerError> {
    let caller = resolve::request_caller(state, parts)
        .await
        .map_err(|e| match e {
            AuthFailure::Unavailable(m) => LedgerError::from(m),
            _ => refused(StatusCode::UNAUTHORIZED, "a valid bearer token is required"),
        })?;
    let action = format!("{} {}", parts.method, parts.uri.path());
    guard::plain(
        state,
        parts,
        caller.as_ref(),
        Need::SuperUser,
        Attempt::new(&action, "ledger"),
    )
    .await
    .map_err(|d| match d {
        Denial::Unauthenticated => {
            refused(StatusCode::UNAUTHORIZED, "a valid bearer token is required")
        }
        _ => refused(
            StatusCode::FORBIDDEN,
            "only a superuser may verify the ledger",
        ),
    })
}

/// Starts verifying the whole log against its ledger (or answers the job already running).
#[utoipa::path(post, path = "/ledger/verify", operation_id = "ledgerVerify", tag = "ledger",
    responses(
        (status = 202, description = "The job, started", body = VerifyJob),
        (status = 200, description = "A job was already running: that one", body = VerifyJob),
        (status = 401, description = "No valid bearer token", body = LedgerErrorBody),
        (status = 403, description = "Not a superuser", body = LedgerErrorBody),
        (status = 404, description = "No such resource", body = LedgerErrorBody),
    ))]
pub async fn start(
    State(state): State<AppState>,
    mut parts: Parts,
) -> Result<(StatusCode, Json<VerifyJob>), LedgerError> {
    superuser(&state, &mut parts).await?;
    let key: VerifyingKey = state.ledger.key;
    let (job, started) = state.ledger.jobs.start();
    if !started {
        return Ok((StatusCode::OK, Json(job)));
    }
    let id = job.job_id;
    let (store, db, jobs) = (
        state.store.clone(),
        state.ledger.db.clone(),
        state.ledger.jobs.clone(),
    );
    tokio::spawn(async move {
        let progress =
            |checked, total| jobs.update(id, |j| (j.checked, j.total) = (checked, total));
        let outcome = verify::verify(store, &db, &key, progress).await;
        jobs.update(id, |j| {
            j.finished_at = Some(now());
            match outcome {
                Ok(report) => {
                    j.status = if report.divergence.is_some() {
                        "diverged"
                    } else {
                        "verified"
                    };
                    j.checked = report.events;
                    j.report = Some(report);
                }
                Err(e) => {
                    j.status = "failed";
                    j.error = Some(e.to_string());
                }
            }
        });
    });
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// A verification job's progress, then its report.
#[utoipa::path(get, path = "/ledger/verify/{job_id}", operation_id = "ledgerVerifyJob", tag = "ledger",
    params(("job_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The job", body = VerifyJob),
        (status = 400, description = "Not a job id", body = LedgerErrorBody),
        (status = 401, description = "No valid bearer token", body = LedgerErrorBody),
        (status = 403, description = "Not a superuser", body = LedgerErrorBody),
        (status = 404, description = "No such job", body = LedgerErrorBody),
    ))]
pub async fn follow(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    mut parts: Parts,
) -> Result<Json<VerifyJob>, LedgerError> {
    superuser(&state, &mut parts).await?;
    let id = Uuid::parse_str(&job_id)
        .map_err(|_| LedgerError::new(StatusCode::BAD_REQUEST, "job_id must be a UUID"))?;
    state
        .ledger
        .jobs
        .get(id)
        .map(Json)
        .ok_or_else(|| LedgerError::new(StatusCode::NOT_FOUND, "no such verification job"))
}
