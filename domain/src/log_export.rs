//! Log exports (Quay's `exportlogs`): a request to write one window of a repository's, an
//! organization's or a user's usage log to a file, then tell a callback URL and/or an e-mail
//! address where to fetch it. Each export lives on its own stream, `logexport-<id>`:
//! `requested` → `completed` | `failed` → `notified`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::digest::Digest;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{Email, NamespaceName};
use crate::values::NamespaceKind;

/// The longest callback URL accepted.
pub const MAX_CALLBACK_URL_CHARS: usize = 2048;

pub fn stream(export_id: Uuid) -> String {
    format!("logexport-{export_id}")
}

/// Whose log an export reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportScope {
    Repository,
    Organization,
    /// What the user did, and what happened in the user's own namespace.
    User,
}

/// What was asked: the log, the window `[start, end)` and where to report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub scope: ExportScope,
    pub namespace_id: Uuid,
    pub namespace: NamespaceName,
    pub namespace_kind: NamespaceKind,
    pub repository_id: Option<Uuid>,
    /// The repository's name inside the namespace.
    pub repository: Option<String>,
    /// The user whose log a `User` export reads.
    pub user_id: Option<Uuid>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub callback_url: Option<String>,
    pub callback_email: Option<Email>,
}

/// How an export ended, as Quay's callback `status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportStatus {
    Success,
    Failed,
    #[serde(rename = "timedout")]
    TimedOut,
    #[serde(rename = "invalidrequest")]
    InvalidRequest,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Success => "success",
            ExportStatus::Failed => "failed",
            ExportStatus::TimedOut => "timedout",
            ExportStatus::InvalidRequest => "invalidrequest",
        }
    }
}

/// What became of one way of telling the requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub delivered: bool,
    /// `HTTP 200`, the last error, or why nothing was sent.
    pub detail: String,
}

/// The state of one export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogExport {
    pub request: Option<ExportRequest>,
    pub outcome: Option<ExportStatus>,
    pub notified: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LogExportCommand {
    Request {
        export_id: Uuid,
        request: ExportRequest,
    },
    /// The file is stored under `digest`; its URL serves until `expires_at`.
    Complete {
        export_id: Uuid,
        digest: Digest,
        size: u64,
        entries: u64,
        expires_at: DateTime<Utc>,
    },
    Fail {
        export_id: Uuid,
        status: ExportStatus,
        error: String,
    },
    RecordNotified {
        export_id: Uuid,
        callback: Option<Delivery>,
        email: Option<Delivery>,
    },
}

impl Aggregate for LogExport {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        match event {
            DomainEvent::LogExportRequested { request, .. } => {
                self.request = Some(request.clone());
            }
            DomainEvent::LogExportCompleted { .. } => self.outcome = Some(ExportStatus::Success),
            DomainEvent::LogExportFailed { status, .. } => self.outcome = Some(*status),
            DomainEvent::LogExportNotified { .. } => self.notified = true,
            _ => {}
        }
        self
    }
}

/// A callback URL Quay would accept: `http(s)://` with a host, no spaces, bounded.
pub fn check_callback_url(url: &str) -> Result<(), DomainError> {
    let invalid = |why: &str| DomainError::InvalidArgument(format!("Invalid callback URL: {why}"));
    if url.chars().count() > MAX_CALLBACK_URL_CHARS {
        return Err(invalid(&format!(
            "longer than {MAX_CALLBACK_URL_CHARS} characters"
        )));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains spaces or control characters"));
    }
    let lower = url.to_ascii_lowercase();
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .ok_or_else(|| invalid("it must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid("it names no host"));
    }
    Ok(())
}

pub fn decide(
    state: &LogExport,
    command: &LogExportCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    match command {
        LogExportCommand::Request { export_id, request } => {
            if state.request.is_some() {
                // The same command retried: nothing more to record.
                return Ok(vec![]);
            }
            if request.callback_url.is_none() && request.callback_email.is_none() {
                return Err(DomainError::InvalidArgument(
                    "Must specify a callback URL or e-mail address".into(),
                ));
            }
            if let Some(url) = &request.callback_url {
                check_callback_url(url)?;
            }
            if request.start >= request.end {
                return Err(DomainError::InvalidArgument(
                    "starttime is after endtime".into(),
                ));
            }
            let scoped = match request.scope {
                ExportScope::Repository => request.repository_id.is_some(),
                ExportScope::Organization => request.namespace_kind == NamespaceKind::Organization,
                ExportScope::User => request.user_id.is_some(),
            };
            if !scoped {
                return Err(DomainError::InvalidArgument(
                    "The export names no log to read".into(),
                ));
            }
            Ok(vec![DomainEvent::LogExportRequested {
                export_id: *export_id,
                request: request.clone(),
            }])
        }
        LogExportCommand::Complete {
            export_id,
            digest,
            size,
            entries,
            expires_at,
        } => {
            let request = requested(state, export_id)?;
            if state.outcome.is_some() {
                return Ok(vec![]);
            }
            Ok(vec![DomainEvent::LogExportCompleted {
                export_id: *export_id,
                digest: digest.clone(),
                size: *size,
                entries: *entries,
                expires_at: *expires_at,
                callback_url: request.callback_url.clone(),
                callback_email: request.callback_email.clone(),
            }])
        }
        LogExportCommand::Fail {
            export_id,
            status,
            error,
        } => {
            let request = requested(state, export_id)?;
            if state.outcome.is_some() {
                return Ok(vec![]);
            }
            if *status == ExportStatus::Success {
                return Err(DomainError::InvalidArgument(
                    "A failure needs a failed status".into(),
                ));
            }
            Ok(vec![DomainEvent::LogExportFailed {
                export_id: *export_id,
                status: *status,
                error: error.chars().take(1000).collect(),
                callback_url: request.callback_url.clone(),
                callback_email: request.callback_email.clone(),
            }])
        }
        LogExportCommand::RecordNotified {
            export_id,
            callback,
            email,
        } => {
            requested(state, export_id)?;
            if state.outcome.is_none() {
                return Err(DomainError::Conflict(format!(
                    "Log export {export_id} has not finished"
                )));
            }
            if state.notified {
                return Ok(vec![]);
            }
            Ok(vec![DomainEvent::LogExportNotified {
                export_id: *export_id,
                callback: callback.clone(),
                email: email.clone(),
            }])
        }
    }
}

fn requested<'a>(state: &'a LogExport, export_id: &Uuid) -> Result<&'a ExportRequest, DomainError> {
    state
        .request
        .as_ref()
        .ok_or_else(|| DomainError::NotFound(format!("No log export {export_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: Option<&str>, email: Option<&str>) -> ExportRequest {
        ExportRequest {
            scope: ExportScope::Organization,
            namespace_id: Uuid::from_u128(1),
            namespace: NamespaceName::parse("acme").unwrap(),
            namespace_kind: NamespaceKind::Organization,
            repository_id: None,
            repository: None,
            user_id: None,
            start: DateTime::from_timestamp(0, 0).unwrap(),
            end: DateTime::from_timestamp(86_400, 0).unwrap(),
            callback_url: url.map(str::to_owned),
            callback_email: email.map(|e| Email::parse(e).unwrap()),
        }
    }

    fn apply(state: LogExport, command: &LogExportCommand) -> LogExport {
        decide(&state, command)
            .unwrap()
            .iter()
            .fold(state, |s, e| s.evolve(e))
    }

    #[test]
    fn a_request_needs_somewhere_to_report() {
        let ask = |r| LogExportCommand::Request {
            export_id: Uuid::from_u128(9),
            request: r,
        };
        let state = LogExport::default();
        assert!(decide(&state, &ask(request(None, None))).is_err());
        for bad in [
            "ftp://x",
            "http://",
            "http:// x",
            "javascript:alert(1)",
            "https://:80/",
        ] {
            assert!(
                decide(&state, &ask(request(Some(bad), None))).is_err(),
                "{bad}"
            );
        }
        assert!(
            decide(
                &state,
                &ask(request(Some("HTTPS://hooks.example/x?a=b"), None))
            )
            .is_ok()
        );
        assert!(decide(&state, &ask(request(None, Some("ops@acme.io")))).is_ok());
        let mut reversed = request(None, Some("ops@acme.io"));
        std::mem::swap(&mut reversed.start, &mut reversed.end);
        assert!(decide(&state, &ask(reversed)).is_err());
    }

    #[test]
    fn an_export_finishes_once_and_is_notified_once() {
        let id = Uuid::from_u128(9);
        let state = apply(
            LogExport::default(),
            &LogExportCommand::Request {
                export_id: id,
                request: request(Some("http://localhost/cb"), None),
            },
        );
        let notify = LogExportCommand::RecordNotified {
            export_id: id,
            callback: None,
            email: None,
        };
        assert!(matches!(
            decide(&state, &notify),
            Err(DomainError::Conflict(_))
        ));
        let fail = LogExportCommand::Fail {
            export_id: id,
            status: ExportStatus::TimedOut,
            error: "too slow".into(),
        };
        let state = apply(state, &fail);
        assert_eq!(state.outcome, Some(ExportStatus::TimedOut));
        assert!(decide(&state, &fail).unwrap().is_empty(), "a retry");
        let state = apply(state, &notify);
        assert!(state.notified);
        assert!(decide(&state, &notify).unwrap().is_empty());
    }
}
