//! Gerrit plugin jars for the black-box tests, and requests in Gerrit's conventions.

use std::io::Write;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{Server, basic_auth};

/// The XSSI line every Gerrit JSON answer starts with.
pub const XSSI_PREFIX: &str = ")]}'\n";

/// A plugin jar: a zip whose `META-INF/MANIFEST.MF` names the plugin (when `name` is given),
/// its version and its API version, plus a class file so it looks like a jar.
pub fn jar(name: Option<&str>, version: &str, api_version: Option<&str>) -> Vec<u8> {
    let mut manifest = String::from("Manifest-Version: 1.0\r\n");
    if let Some(name) = name {
        manifest.push_str(&format!("Gerrit-PluginName: {name}\r\n"));
    }
    manifest.push_str(&format!("Implementation-Version: {version}\r\n"));
    if let Some(api) = api_version {
        manifest.push_str(&format!("Gerrit-ApiVersion: {api}\r\n"));
    }
    manifest.push_str("\r\n");
    zip_of(&[
        ("META-INF/MANIFEST.MF", manifest.as_bytes()),
        ("com/example/Plugin.class", b"\xca\xfe\xba\xbe"),
    ])
}

/// A zip archive of `entries`.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        w.write_all(bytes).expect("zip write");
    }
    w.finish().expect("zip").into_inner()
}

/// How a Gerrit request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// Nothing.
    None,
    /// `Authorization: Basic user:secret` (for `/a/`).
    Basic(&'a str, &'a str),
    /// `Authorization: Bearer token` (honoured on the anonymous path).
    Bearer(&'a str),
}

/// A Gerrit answer: status, content type, the raw body, and the JSON after the XSSI line (Null
/// when the body is not JSON in Gerrit's form).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
    pub json: Value,
    pub www_authenticate: Option<String>,
}

impl Answer {
    /// Asserts a Gerrit JSON answer: the content type, the XSSI line; answers the JSON.
    pub fn ok_json(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.content_type, "application/json; charset=UTF-8");
        assert!(self.body.starts_with(XSSI_PREFIX), "{}", self.body);
        &self.json
    }

    /// Asserts a Gerrit error: the status, plain text, the message.
    pub fn error(&self, status: u16, message: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.content_type, "text/plain; charset=UTF-8",
            "{}",
            self.body
        );
        assert!(
            self.body.contains(message),
            "{status}: expected {message:?} in {:?}",
            self.body
        );
        assert!(!self.body.starts_with(XSSI_PREFIX));
    }
}

/// What a Gerrit request carries as its body.
pub enum Body {
    None,
    Json(String),
    Jar(Vec<u8>),
}

impl Server {
    /// A Gerrit request.
    pub async fn gerrit(&self, method: Method, path: &str, auth: Auth<'_>, body: Body) -> Answer {
        let mut req = reqwest::Client::new().request(method, self.url(path));
        req = match auth {
            Auth::None => req,
            Auth::Basic(user, secret) => req.header("Authorization", basic_auth(user, secret)),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        req = match body {
            Body::None => req,
            Body::Json(text) => req
                .header("content-type", "application/json; charset=UTF-8")
                .body(text),
            Body::Jar(bytes) => req
                .header("content-type", "application/octet-stream")
                .body(bytes),
        };
        let response = req.send().await.expect("gerrit request");
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let www_authenticate = header("www-authenticate");
        let body = response.text().await.unwrap_or_default();
        let json = body
            .strip_prefix(XSSI_PREFIX)
            .and_then(|rest| serde_json::from_str(rest).ok())
            .unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            body,
            json,
            www_authenticate,
        }
    }
}
