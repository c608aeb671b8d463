//! Where an install's jar comes from, streamed into a blob-store upload session (never whole
//! in memory), capped at the configured size: the request body itself, a `file:` URL inside
//! the plugin directory, or an `http(s):` URL fetched with a timeout.

use std::path::PathBuf;

use annals_store::blobs::UploadError;
use axum::body::Body;
use bytes::Bytes;
use futures::Stream;
use reqwest::Url;
use uuid::Uuid;

use super::Settings;
use super::error::GerritError;
use crate::state::AppState;

/// Where the jar is.
pub enum Source {
    /// The request body is the jar.
    Body(Body),
    /// A file in the plugin directory (canonical path), and the URL that named it.
    File(PathBuf, Url),
    /// A URL to fetch.
    Http(Url),
}

impl Source {
    /// What the install event records as the jar's source: never the credentials a URL may
    /// carry, since the log keeps what it records for good.
    pub fn describe(&self) -> String {
        match self {
            Source::Body(_) => "upload".to_owned(),
            Source::File(_, url) | Source::Http(url) => {
                let mut shown = url.clone();
                let _ = shown.set_password(None);
                let _ = shown.set_username("");
                shown.set_query(None);
                shown.to_string()
            }
        }
    }
}

/// The source a `PluginInput.url` names. `file:` URLs must name a regular file inside the
/// plugin directory (after resolving links and `..`); `http:` and `https:` are fetched.
pub async fn resolve(settings: &Settings, url: &str) -> Result<Source, GerritError> {
    let url = Url::parse(url.trim()).map_err(|_| {
        GerritError::bad_request(format!(
            "invalid plugin url: {:?}",
            url.chars().take(200).collect::<String>()
        ))
    })?;
    match url.scheme() {
        "http" | "https" => Ok(Source::Http(url)),
        "file" => {
            let outside = || {
                GerritError::bad_request(
                    "file: URLs must name a jar in the server's plugin directory",
                )
            };
            let path = url.to_file_path().map_err(|_| outside())?;
            let path = tokio::fs::canonicalize(&path)
                .await
                .map_err(|_| outside())?;
            let is_file = tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file());
            if !path.starts_with(&settings.plugin_dir) || !is_file {
                return Err(outside());
            }
            Ok(Source::File(path, url))
        }
        other => Err(GerritError::bad_request(format!(
            "unsupported plugin url scheme {:?}: use file:, http: or https:",
            other.chars().take(20).collect::<String>()
        ))),
    }
}

/// A fetched response's body as a stream of chunks.
fn response_stream(
    response: reqwest::Response,
) -> impl Stream<Item = Result<Bytes, reqwest::Error>> + Unpin {
    Box::pin(futures::stream::unfold(
        Some(response),
        |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        },
    ))
}

/// Appends the jar from `source` to the upload `id`, at most `settings.max_jar_bytes`.
pub async fn fill(state: &AppState, id: Uuid, source: Source) -> Result<(), GerritError> {
    let limit = Some(state.gerrit.max_jar_bytes);
    let appended = match source {
        Source::Body(body) => {
            state
                .blobs
                .append_upload(id, Some(0), limit, body.into_data_stream())
                .await
        }
        Source::File(path, _) => {
            let file = tokio::fs::File::open(&path).await.map_err(|_| {
                GerritError::bad_request("the plugin jar in the plugin directory cannot be read")
            })?;
            state
                .blobs
                .append_upload(id, Some(0), limit, tokio_util::io::ReaderStream::new(file))
                .await
        }
        Source::Http(url) => {
            let failed = |what: String| {
                GerritError::bad_request(format!("cannot fetch the plugin jar from {url}: {what}"))
            };
            let response = state
                .gerrit
                .http
                .get(url.clone())
                .send()
                .await
                .map_err(|e| failed(without_url(e)))?;
            if !response.status().is_success() {
                return Err(failed(format!("HTTP {}", response.status())));
            }
            if response
                .content_length()
                .is_some_and(|n| n > state.gerrit.max_jar_bytes)
            {
                return Err(GerritError::too_large(state.gerrit.max_jar_bytes));
            }
            return match state
                .blobs
                .append_upload(id, Some(0), limit, response_stream(response))
                .await
            {
                Ok(_) => Ok(()),
                Err(UploadError::Body(m)) => Err(failed(m)),
                Err(e) => Err(e.into()),
            };
        }
    };
    appended.map(|_| ()).map_err(GerritError::from)
}

/// A fetch error's message without the URL (the answer names it once).
fn without_url(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else if e.is_redirect() {
        "too many redirects".to_owned()
    } else {
        e.without_url().to_string()
    }
}

/// Refuses a raw body whose declared length alone passes the cap, before reading it.
pub fn check_declared_length(
    settings: &Settings,
    headers: &axum::http::HeaderMap,
) -> Result<(), GerritError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > settings.max_jar_bytes => {
            Err(GerritError::too_large(settings.max_jar_bytes))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_recorded_source_keeps_no_credentials() {
        let url = super::Url::parse("https://bob:secret@example.com/x.jar?token=abc").unwrap();
        assert_eq!(
            super::Source::Http(url).describe(),
            "https://example.com/x.jar"
        );
    }
}
