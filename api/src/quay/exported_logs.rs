//! Where a finished log export is fetched: `GET /exportedlogs/{export_id}?expires=&signature=`,
//! a URL that carries its own authority. The signature is HMAC-SHA256 with the server's
//! token-signing key (`secrets.rs`) over the export id and the expiry, under a label no other
//! signed value starts with; an expired URL or a forged one is 403, an export that is not (or
//! no longer) stored 404. The file is streamed from the blob store.
//!
//! [`QuayExportShape`] is what the export worker takes from this family: the entry shape of the
//! log routes, Quay's datetime, and these URLs.

use std::sync::Arc;

use annals_domain::log_export::ExportStatus;
use annals_projections::queries::log_exports;
use annals_projections::queries::logs::LogEntry;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tokio_util::io::ReaderStream;
use uuid::Uuid;

use super::error::QuayError;
use super::extract::QuayQuery;
use super::log_entry::{self, LogEntryBody};
use super::log_range::format_datetime;
use crate::state::AppState;

/// Set apart from every other value the key signs.
const LABEL: &str = "annals log export v1";

fn mac(key: &[u8], export_id: Uuid, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{LABEL}\n{export_id}\n{expires}").as_bytes());
    mac
}

/// The URL of an export's file, valid until `expires_at` (to the second).
pub fn signed_url(
    public_url: &str,
    key: &[u8],
    export_id: Uuid,
    expires_at: DateTime<Utc>,
) -> String {
    let expires = expires_at.timestamp();
    let signature = URL_SAFE_NO_PAD.encode(mac(key, export_id, expires).finalize().into_bytes());
    format!(
        "{}/exportedlogs/{export_id}?expires={expires}&signature={signature}",
        public_url.trim_end_matches('/')
    )
}

/// Whether `signature` is this server's for the export and expiry (compared in constant time).
fn signed(key: &[u8], export_id: Uuid, expires: i64, signature: &str) -> bool {
    URL_SAFE_NO_PAD
        .decode(signature)
        .is_ok_and(|s| mac(key, export_id, expires).verify_slice(&s).is_ok())
}

/// An export's file, as documented; the worker writes it page by page
/// (`workers/src/log_export.rs`), so no value of this type is ever built.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct ExportedLogs {
    pub export_id: Uuid,
    pub details: ExportDetails,
    /// Newest first, each as `GET .../logs` shows it.
    pub logs: Vec<LogEntryBody>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct ExportDetails {
    /// `Tue, 18 Jun 2024 18:59:13 -0000`.
    pub start_time: String,
    /// Exclusive.
    pub end_time: String,
    pub namespace: String,
    pub repository: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DownloadParams {
    expires: Option<i64>,
    signature: Option<String>,
}

fn refused(message: &str) -> QuayError {
    QuayError::new(StatusCode::FORBIDDEN, "unauthorized", message)
}

/// The file of a finished log export.
#[utoipa::path(get, path = "/exportedlogs/{export_id}", operation_id = "getExportedLogs", tag = "logs", security(()),
    description = "The `exported_data_url` of a log export: `{export_id, details: {start_time, end_time, \
        namespace, repository}, logs: [...]}`. The URL carries its own authority (`expires`, `signature`) \
        and no credential is needed; an expired or altered URL is 403.",
    params(("export_id" = Uuid, Path), ("expires" = i64, Query, description = "Unix seconds"),
        ("signature" = String, Query)),
    responses((status = 200, description = "The export", content_type = "application/json", body = ExportedLogs),
        (status = 403, description = "Expired or not signed by this server")))]
pub async fn download(
    State(state): State<AppState>,
    Path(export_id): Path<String>,
    QuayQuery(params): QuayQuery<DownloadParams>,
) -> Result<Response, QuayError> {
    let export_id =
        Uuid::parse_str(&export_id).map_err(|_| QuayError::not_found("No such export"))?;
    let (Some(expires), Some(signature)) = (params.expires, params.signature) else {
        return Err(refused("The URL is not signed"));
    };
    if !signed(&state.token_key, export_id, expires, &signature) {
        return Err(refused("The URL is not signed by this server"));
    }
    if expires <= Utc::now().timestamp() {
        return Err(refused("The URL has expired"));
    }
    let export = log_exports::get(state.db().as_ref(), export_id)
        .await?
        .filter(|e| e.status == Some(ExportStatus::Success));
    let Some(digest) = export.and_then(|e| e.digest) else {
        return Err(QuayError::not_found("No such export"));
    };
    let Some(file) = state
        .blobs
        .open_read(&digest)
        .await
        .map_err(QuayError::internal)?
    else {
        return Err(QuayError::not_found("The export's file is gone"));
    };
    let len = file.metadata().await.map_err(QuayError::internal)?.len();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, len)
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(Body::from_stream(ReaderStream::with_capacity(
            file,
            256 * 1024,
        )))
        .map_err(QuayError::internal)
}

/// The export worker's view of this family.
pub struct QuayExportShape {
    pub public_url: Arc<str>,
    pub key: Arc<[u8]>,
}

impl annals_workers::log_export::ExportShape for QuayExportShape {
    fn entry(&self, entry: &LogEntry, with_namespace: bool) -> serde_json::Value {
        serde_json::to_value(log_entry::render(entry, with_namespace)).unwrap_or_default()
    }

    fn datetime(&self, at: DateTime<Utc>) -> String {
        format_datetime(at)
    }

    fn data_url(&self, export_id: Uuid, expires_at: DateTime<Utc>) -> String {
        signed_url(&self.public_url, &self.key, export_id, expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_keys_signature_for_this_export_and_expiry_passes() {
        let key = [7u8; 32];
        let id = Uuid::from_u128(1);
        let at = DateTime::from_timestamp(2_000_000_000, 0).unwrap();
        let url = signed_url("http://h/", &key, id, at);
        let signature = url.split("signature=").nth(1).unwrap();
        assert!(url.starts_with(&format!("http://h/exportedlogs/{id}?expires=2000000000&")));
        assert!(signed(&key, id, 2_000_000_000, signature));
        assert!(!signed(&key, id, 2_000_000_001, signature));
        assert!(!signed(&key, Uuid::from_u128(2), 2_000_000_000, signature));
        assert!(!signed(&[8u8; 32], id, 2_000_000_000, signature));
        assert!(!signed(&key, id, 2_000_000_000, "not base64!"));
    }
}
