//! The metadata each event carries (DESIGN.md, "Events"): actor, client, ids, and the namespace
//! and repository it concerns, which the log index files it under.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::envelope::Envelope;
use annals_domain::{NamespaceKind, NamespaceName};

/// The namespace and repository a command concerns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub namespace: Option<(Uuid, NamespaceName, NamespaceKind)>,
    pub repository: Option<(Uuid, String)>,
}

impl Scope {
    pub fn namespace(id: Uuid, name: NamespaceName, kind: NamespaceKind) -> Self {
        Scope {
            namespace: Some((id, name, kind)),
            repository: None,
        }
    }

    pub fn with_repository(mut self, id: Uuid, name: &str) -> Self {
        self.repository = Some((id, name.to_owned()));
        self
    }
}

pub fn build(envelope: &Envelope, scope: &Scope) -> Value {
    let mut m = Map::new();
    m.insert("actor".into(), json!(envelope.actor));
    m.insert("client_ip".into(), json!(envelope.client_ip));
    m.insert("user_agent".into(), json!(envelope.user_agent));
    m.insert("command_id".into(), json!(envelope.command_id));
    m.insert("correlation_id".into(), json!(envelope.correlation_id));
    m.insert("causation_id".into(), json!(envelope.causation_id));
    if let Some(request_id) = &envelope.request_id {
        m.insert("request_id".into(), json!(request_id));
    }
    if let Some(fingerprint) = &envelope.fingerprint {
        m.insert("request_fingerprint".into(), json!(fingerprint));
    }
    if let Some((id, name, kind)) = &scope.namespace {
        m.insert("namespace_id".into(), json!(id));
        m.insert("namespace".into(), json!(name));
        m.insert("namespace_kind".into(), json!(kind.as_str()));
    }
    if let Some((id, name)) = &scope.repository {
        m.insert("repository_id".into(), json!(id));
        m.insert("repository".into(), json!(name));
    }
    Value::Object(m)
}
