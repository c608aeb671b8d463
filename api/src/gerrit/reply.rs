//! Gerrit's JSON answers: `Content-Type: application/json; charset=UTF-8`,
//! `Content-Disposition: attachment`, and the body prefixed with `)]}'` and a newline (Gerrit's
//! guard against cross-site script inclusion; clients strip the first line). Pretty-printed
//! unless the client asks for compact JSON (`pp=0`, or `Accept: application/json` without
//! `pp=1`), as Gerrit does.

use annals_projections::queries::gerrit_plugins::GerritPluginView;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::GerritError;

/// The prefix of every JSON answer.
pub const XSSI_PREFIX: &str = ")]}'\n";

/// The `PluginInfo` entity: a plugin as Gerrit describes it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PluginInfo {
    /// The ID of the plugin.
    pub id: String,
    /// The version of the plugin (the jar's `Implementation-Version`).
    pub version: String,
    /// The Gerrit API version the plugin was built against (`Gerrit-ApiVersion`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// URL of the plugin's default page.
    pub index_url: String,
    /// The plugin's filename.
    pub filename: String,
    /// Whether the plugin is disabled; not set if `false`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(value_type = Option<bool>)]
    pub disabled: bool,
}

impl From<&GerritPluginView> for PluginInfo {
    fn from(p: &GerritPluginView) -> Self {
        PluginInfo {
            id: p.id.clone(),
            version: p.version.clone(),
            api_version: p.api_version.clone(),
            index_url: format!("plugins/{}/", p.id),
            filename: format!("{}.jar", p.id),
            disabled: p.disabled,
        }
    }
}

/// Whether the client asked for compact JSON.
pub fn compact(parts: &Parts) -> bool {
    let pp = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "pp" || k == "prettyPrint")
        .last()
        .map(|(_, v)| v.into_owned());
    match pp.as_deref() {
        Some("0" | "false") => true,
        Some(_) => false,
        None => parts
            .headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',').any(|t| {
                    t.split(';')
                        .next()
                        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
                })
            }),
    }
}

/// A JSON answer in Gerrit's form.
pub fn json<T: Serialize>(status: StatusCode, compact: bool, value: &T) -> Response {
    let body = if compact {
        serde_json::to_string(value)
    } else {
        serde_json::to_string_pretty(value)
    };
    match body {
        Ok(body) => (
            status,
            [
                (header::CONTENT_TYPE, "application/json; charset=UTF-8"),
                (header::CONTENT_DISPOSITION, "attachment"),
            ],
            format!("{XSSI_PREFIX}{body}\n"),
        )
            .into_response(),
        Err(e) => GerritError::internal(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_is_set_only_when_true() {
        let mut info = PluginInfo {
            id: "x".into(),
            version: "1".into(),
            api_version: None,
            index_url: "plugins/x/".into(),
            filename: "x.jar".into(),
            disabled: false,
        };
        let v = serde_json::to_value(&info).unwrap();
        assert!(v.get("disabled").is_none() && v.get("api_version").is_none());
        info.disabled = true;
        assert_eq!(serde_json::to_value(&info).unwrap()["disabled"], true);
    }
}
