//! SpaceONE repository plugins: a plugin is an image of Annals' own registry registered for a
//! SpaceONE domain, which Annals maps onto an organization. Each plugin lives on its own stream,
//! `spaceoneplugin-<plugin id>`; its organization is guarded by every command, so no plugin
//! outlives its domain.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{NamespaceName, RepositoryName};

/// The longest name, service type, provider or project id.
pub const MAX_FIELD_CHARS: usize = 255;
/// The largest structured field (capability, template, tags, labels, registry config), as JSON.
pub const MAX_STRUCT_BYTES: usize = 64 * 1024;
/// The most labels a plugin has.
pub const MAX_LABELS: usize = 100;
/// How a plugin's registry is reached: today's `PublicRegistryType`, in its wire order, and
/// the older API's `AWS_PUBLIC_ECR`.
pub const REGISTRY_TYPES: [&str; 7] = [
    "NONE_REGISTRY_TYPE",
    "DOCKER_HUB",
    "AWS_PRIVATE_ECR",
    "HARBOR",
    "GITHUB",
    "GCP_PRIVATE_GCR",
    "AWS_PUBLIC_ECR",
];
/// The longest plugin id a client may choose.
pub const MAX_ID_CHARS: usize = 100;

pub fn stream(plugin_id: &str) -> String {
    format!("spaceoneplugin-{plugin_id}")
}

/// A plugin id: `plugin-` and 12 hex digits, derived from the registering command's id so a
/// retried request names the same plugin.
pub fn plugin_id_for(command_id: Uuid) -> String {
    let id = Uuid::new_v5(&command_id, b"spaceone-plugin");
    format!("plugin-{}", &id.simple().to_string()[..12])
}

/// Words that name the REST API's actions, which no plugin id may be.
pub const RESERVED_IDS: [&str; 10] = [
    "register",
    "update",
    "deregister",
    "enable",
    "disable",
    "get-versions",
    "get",
    "list",
    "stat",
    "search",
];

/// Whether `s` has the shape of a plugin id: lower-case letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit (generated ids and those today's clients may choose), and
/// none of [`RESERVED_IDS`].
pub fn is_plugin_id(s: &str) -> bool {
    !RESERVED_IDS.contains(&s)
        && !s.is_empty()
        && s.len() <= MAX_ID_CHARS
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

/// `<namespace>/<repository>` of Annals' registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub namespace: NamespaceName,
    pub repository: RepositoryName,
}

impl ImageRef {
    pub fn parse(image: &str) -> Result<Self, DomainError> {
        let bad = || {
            DomainError::InvalidArgument(format!(
                "image must name a repository of this registry as <namespace>/<name>, not {:?}",
                image.chars().take(MAX_FIELD_CHARS).collect::<String>()
            ))
        };
        let (ns, repo) = image.split_once('/').ok_or_else(bad)?;
        Ok(ImageRef {
            namespace: NamespaceName::parse(ns).map_err(|_| bad())?,
            repository: RepositoryName::parse(repo).map_err(|_| bad())?,
        })
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.repository)
    }
}

/// What a plugin is registered with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginSpec {
    pub name: String,
    /// SpaceONE's `service_type` (today's releases call it `resource_type`).
    pub service_type: String,
    pub image: ImageRef,
    pub provider: String,
    pub registry_type: String,
    pub registry_config: Value,
    pub capability: Value,
    pub template: Value,
    /// Today's releases' `docs`.
    #[serde(default)]
    pub docs: Value,
    pub labels: Value,
    pub tags: Value,
    pub project_id: String,
}

/// What an update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Value>,
}

impl PluginChanges {
    pub fn is_empty(&self) -> bool {
        *self == PluginChanges::default()
    }
}

/// A plugin as its stream says it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpacePlugin {
    pub plugin_id: Option<String>,
    pub organization_id: Option<Uuid>,
    pub spec: Option<PluginSpec>,
    pub enabled: bool,
    pub deregistered: bool,
}

impl SpacePlugin {
    pub fn is_live(&self) -> bool {
        self.plugin_id.is_some() && !self.deregistered
    }
}

// `Register` carries the whole spec; commands are decided one at a time, so boxing it would
// only make every pattern on it noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SpacePluginCommand {
    /// Register a plugin of `organization_id`; `image_exists` is whether the image's
    /// repository is live in the registry (a fact the caller reads).
    Register {
        plugin_id: String,
        organization_id: Uuid,
        spec: PluginSpec,
        image_exists: bool,
    },
    /// The rest act on the plugin of `organization_id` (another domain's plugin is unknown).
    Update {
        organization_id: Uuid,
        changes: PluginChanges,
    },
    Enable {
        organization_id: Uuid,
    },
    Disable {
        organization_id: Uuid,
    },
    Deregister {
        organization_id: Uuid,
    },
}

impl Aggregate for SpacePlugin {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        match event {
            DomainEvent::SpacePluginRegistered {
                plugin_id,
                organization_id,
                spec,
            } => {
                self.plugin_id = Some(plugin_id.clone());
                self.organization_id = Some(*organization_id);
                self.spec = Some(spec.clone());
                self.enabled = true;
            }
            DomainEvent::SpacePluginUpdated { changes, .. } => {
                if let Some(spec) = self.spec.as_mut() {
                    apply(spec, changes);
                }
            }
            DomainEvent::SpacePluginEnabled { .. } => self.enabled = true,
            DomainEvent::SpacePluginDisabled { .. } => self.enabled = false,
            DomainEvent::SpacePluginDeregistered { .. } => self.deregistered = true,
            _ => {}
        }
        self
    }
}

/// `spec` with `changes` applied.
pub fn apply(spec: &mut PluginSpec, changes: &PluginChanges) {
    if let Some(name) = &changes.name {
        spec.name = name.clone();
    }
    if let Some(v) = &changes.capability {
        spec.capability = v.clone();
    }
    if let Some(v) = &changes.template {
        spec.template = v.clone();
    }
    if let Some(v) = &changes.docs {
        spec.docs = v.clone();
    }
    if let Some(v) = &changes.labels {
        spec.labels = v.clone();
    }
    if let Some(v) = &changes.tags {
        spec.tags = v.clone();
    }
}

fn check_text(field: &str, value: &str, required: bool) -> Result<(), DomainError> {
    if required && value.trim().is_empty() {
        return Err(DomainError::InvalidArgument(format!(
            "Required parameter. (key = {field})"
        )));
    }
    if value.chars().count() > MAX_FIELD_CHARS || value.chars().any(char::is_control) {
        return Err(DomainError::InvalidArgument(format!(
            "{field} must be at most {MAX_FIELD_CHARS} printable characters"
        )));
    }
    Ok(())
}

fn check_struct(field: &str, value: &Value) -> Result<(), DomainError> {
    if !value.is_object() {
        return Err(DomainError::InvalidArgument(format!(
            "{field} must be an object"
        )));
    }
    check_size(field, value)
}

fn check_size(field: &str, value: &Value) -> Result<(), DomainError> {
    if value.to_string().len() > MAX_STRUCT_BYTES {
        return Err(DomainError::InvalidArgument(format!(
            "{field} must be at most {MAX_STRUCT_BYTES} bytes of JSON"
        )));
    }
    Ok(())
}

fn check_labels(labels: &Value) -> Result<(), DomainError> {
    match labels.as_array() {
        Some(items) if items.len() <= MAX_LABELS => check_size("labels", labels),
        _ => Err(DomainError::InvalidArgument(format!(
            "labels must be a list of at most {MAX_LABELS} values"
        ))),
    }
}

fn check_spec(spec: &PluginSpec) -> Result<(), DomainError> {
    check_text("name", &spec.name, true)?;
    check_text("service_type", &spec.service_type, true)?;
    check_text("provider", &spec.provider, false)?;
    check_text("project_id", &spec.project_id, false)?;
    if !REGISTRY_TYPES.contains(&spec.registry_type.as_str()) {
        return Err(DomainError::InvalidArgument(format!(
            "registry_type must be one of {}",
            REGISTRY_TYPES.join(", ")
        )));
    }
    check_struct("registry_config", &spec.registry_config)?;
    check_struct("capability", &spec.capability)?;
    check_struct("template", &spec.template)?;
    check_struct("docs", &spec.docs)?;
    check_struct("tags", &spec.tags)?;
    check_labels(&spec.labels)
}

fn check_changes(changes: &PluginChanges) -> Result<(), DomainError> {
    if let Some(name) = &changes.name {
        check_text("name", name, true)?;
    }
    for (field, value) in [
        ("capability", &changes.capability),
        ("template", &changes.template),
        ("docs", &changes.docs),
        ("tags", &changes.tags),
    ] {
        if let Some(v) = value {
            check_struct(field, v)?;
        }
    }
    changes.labels.as_ref().map_or(Ok(()), check_labels)
}

/// The live plugin of `organization_id`; another domain's plugin is as unknown as a missing one.
fn live_in(state: &SpacePlugin, organization_id: Uuid) -> Result<String, DomainError> {
    match &state.plugin_id {
        Some(id) if state.is_live() && state.organization_id == Some(organization_id) => {
            Ok(id.clone())
        }
        _ => Err(DomainError::NotFound("Plugin not found".into())),
    }
}

pub fn decide(
    state: &SpacePlugin,
    command: &SpacePluginCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    match command {
        SpacePluginCommand::Register {
            plugin_id,
            organization_id,
            spec,
            image_exists,
        } => {
            if !is_plugin_id(plugin_id) {
                return Err(DomainError::InvalidArgument(format!(
                    "plugin_id must be 1 to {MAX_ID_CHARS} of a-z, 0-9, -, _ and ."
                )));
            }
            if state.plugin_id.is_some() {
                return Err(DomainError::AlreadyExists(format!(
                    "Plugin {plugin_id} already exists"
                )));
            }
            check_spec(spec)?;
            if !image_exists {
                return Err(DomainError::NotFound(format!(
                    "Image {} does not exist in this registry",
                    spec.image
                )));
            }
            Ok(vec![DomainEvent::SpacePluginRegistered {
                plugin_id: plugin_id.clone(),
                organization_id: *organization_id,
                spec: spec.clone(),
            }])
        }
        SpacePluginCommand::Update {
            organization_id,
            changes,
        } => {
            let plugin_id = live_in(state, *organization_id)?;
            check_changes(changes)?;
            // Only what actually changes is recorded; an update that changes nothing appends
            // nothing.
            let spec = state.spec.as_ref().expect("a live plugin has a spec");
            let mut next = spec.clone();
            apply(&mut next, changes);
            if next == *spec {
                return Ok(vec![]);
            }
            Ok(vec![DomainEvent::SpacePluginUpdated {
                plugin_id,
                changes: changes.clone(),
            }])
        }
        SpacePluginCommand::Enable { organization_id } => {
            let plugin_id = live_in(state, *organization_id)?;
            Ok(if state.enabled {
                vec![]
            } else {
                vec![DomainEvent::SpacePluginEnabled { plugin_id }]
            })
        }
        SpacePluginCommand::Disable { organization_id } => {
            let plugin_id = live_in(state, *organization_id)?;
            Ok(if state.enabled {
                vec![DomainEvent::SpacePluginDisabled { plugin_id }]
            } else {
                vec![]
            })
        }
        SpacePluginCommand::Deregister { organization_id } => {
            let plugin_id = live_in(state, *organization_id)?;
            Ok(vec![DomainEvent::SpacePluginDeregistered { plugin_id }])
        }
    }
}

/// Orders version strings newest first: semantic versions (with an optional leading `v`) by
/// precedence, ahead of anything else, which sorts by name, descending.
pub fn sort_versions(versions: &mut [String]) {
    fn parse(v: &str) -> Option<semver::Version> {
        semver::Version::parse(v.strip_prefix('v').unwrap_or(v)).ok()
    }
    versions.sort_by(|a, b| match (parse(a), parse(b)) {
        (Some(x), Some(y)) => y.cmp(&x).then_with(|| b.cmp(a)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b.cmp(a),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> PluginSpec {
        PluginSpec {
            name: "aws-ec2".into(),
            service_type: "inventory.Collector".into(),
            image: ImageRef::parse("acme/aws-ec2").unwrap(),
            provider: "aws".into(),
            registry_type: "DOCKER_HUB".into(),
            registry_config: json!({}),
            capability: json!({}),
            template: json!({}),
            docs: json!({}),
            labels: json!(["aws"]),
            tags: json!({}),
            project_id: String::new(),
        }
    }

    fn fold(mut state: SpacePlugin, events: Vec<DomainEvent>) -> SpacePlugin {
        for e in &events {
            state = state.evolve(e);
        }
        state
    }

    #[test]
    fn ids_are_stable_per_command_and_well_formed() {
        let c = Uuid::new_v4();
        assert_eq!(plugin_id_for(c), plugin_id_for(c));
        assert!(is_plugin_id(&plugin_id_for(c)));
        assert!(is_plugin_id("plugin-aws-ec2-inven-collector"));
        assert!(!is_plugin_id("Plugin-X"));
        assert!(!is_plugin_id("-x"));
        assert!(!is_plugin_id("stat"));
        assert!(!is_plugin_id(&"a".repeat(101)));
    }

    #[test]
    fn a_plugin_needs_a_live_image_and_valid_fields() {
        let org = Uuid::new_v4();
        let register = |spec: PluginSpec, image_exists| SpacePluginCommand::Register {
            plugin_id: "plugin-0123456789ab".into(),
            organization_id: org,
            spec,
            image_exists,
        };
        let empty = SpacePlugin::default();
        assert!(matches!(
            decide(&empty, &register(spec(), false)),
            Err(DomainError::NotFound(_))
        ));
        let mut bad = spec();
        bad.registry_type = "QUAY".into();
        assert!(matches!(
            decide(&empty, &register(bad, true)),
            Err(DomainError::InvalidArgument(_))
        ));
        let mut bad = spec();
        bad.capability = json!([1]);
        assert!(decide(&empty, &register(bad, true)).is_err());
        let mut bad = spec();
        bad.name = " ".into();
        assert!(decide(&empty, &register(bad, true)).is_err());
        assert!(ImageRef::parse("no-slash").is_err());
        assert!(ImageRef::parse("acme/Bad Name").is_err());

        let plugin = fold(
            empty,
            decide(&SpacePlugin::default(), &register(spec(), true)).unwrap(),
        );
        assert!(plugin.enabled && plugin.is_live());
        assert!(matches!(
            decide(&plugin, &register(spec(), true)),
            Err(DomainError::AlreadyExists(_))
        ));
    }

    #[test]
    fn another_domain_never_reaches_a_plugin() {
        let org = Uuid::new_v4();
        let plugin = fold(
            SpacePlugin::default(),
            vec![DomainEvent::SpacePluginRegistered {
                plugin_id: "plugin-0123456789ab".into(),
                organization_id: org,
                spec: spec(),
            }],
        );
        let other = Uuid::new_v4();
        for command in [
            SpacePluginCommand::Enable {
                organization_id: other,
            },
            SpacePluginCommand::Deregister {
                organization_id: other,
            },
        ] {
            assert!(matches!(
                decide(&plugin, &command),
                Err(DomainError::NotFound(_))
            ));
        }
        let disabled = fold(
            plugin.clone(),
            decide(
                &plugin,
                &SpacePluginCommand::Disable {
                    organization_id: org,
                },
            )
            .unwrap(),
        );
        assert!(!disabled.enabled);
        assert_eq!(
            decide(
                &disabled,
                &SpacePluginCommand::Disable {
                    organization_id: org
                }
            ),
            Ok(vec![])
        );
        let unchanged = SpacePluginCommand::Update {
            organization_id: org,
            changes: PluginChanges {
                name: Some("aws-ec2".into()),
                ..Default::default()
            },
        };
        assert_eq!(decide(&plugin, &unchanged), Ok(vec![]));
        let gone = fold(
            plugin.clone(),
            decide(
                &plugin,
                &SpacePluginCommand::Deregister {
                    organization_id: org,
                },
            )
            .unwrap(),
        );
        assert!(!gone.is_live());
        assert!(
            decide(
                &gone,
                &SpacePluginCommand::Enable {
                    organization_id: org
                }
            )
            .is_err()
        );
    }

    #[test]
    fn versions_sort_newest_first_as_versions() {
        let mut v: Vec<String> = ["1.2.0", "latest", "1.10.0", "v1.9.1", "1.10.0-rc.1", "dev"]
            .into_iter()
            .map(String::from)
            .collect();
        sort_versions(&mut v);
        assert_eq!(
            v,
            ["1.10.0", "1.10.0-rc.1", "v1.9.1", "1.2.0", "latest", "dev"]
        );
    }
}
