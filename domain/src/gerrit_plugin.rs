//! Gerrit plugins: jars installed on the server, each on its own stream
//! `gerritplugin-<plugin id>`. Installing, enabling, disabling and reloading are events, so a
//! plugin's status at any past position is the fold of its stream up to there.

use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::digest::Digest;
use crate::error::DomainError;
use crate::event::DomainEvent;

/// The longest plugin id.
pub const MAX_ID_CHARS: usize = 100;
/// The longest version or API version read from a jar's manifest.
pub const MAX_VERSION_CHARS: usize = 255;

pub fn stream(plugin_id: &str) -> String {
    format!("gerritplugin-{plugin_id}")
}

/// A plugin id: letters, digits, `-`, `_` and `.`, starting with a letter or digit, never
/// ending in `.jar` (that suffix names the file, not the plugin).
pub fn parse_id(id: &str) -> Result<String, DomainError> {
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !id.contains("..")
        && !id.ends_with(".jar");
    if ok {
        Ok(id.to_owned())
    } else {
        Err(DomainError::InvalidName(format!(
            "invalid plugin name: {:?}",
            id.chars().take(MAX_ID_CHARS).collect::<String>()
        )))
    }
}

/// What a jar's `META-INF/MANIFEST.MF` says of the plugin in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JarManifest {
    pub plugin_name: Option<String>,
    pub version: Option<String>,
    pub api_version: Option<String>,
}

impl JarManifest {
    /// Reads the main section of a JAR manifest (`Name: value` lines; a line starting with a
    /// space continues the one before).
    pub fn parse(text: &str) -> Self {
        let mut lines: Vec<String> = Vec::new();
        for line in text.lines() {
            if line.is_empty() {
                break; // the main section ends at the first blank line
            }
            match (line.strip_prefix(' '), lines.last_mut()) {
                (Some(rest), Some(last)) => last.push_str(rest),
                _ => lines.push(line.to_owned()),
            }
        }
        let field = |name: &str| {
            lines.iter().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                let v = v.trim();
                (k.trim().eq_ignore_ascii_case(name) && !v.is_empty()).then(|| v.to_owned())
            })
        };
        JarManifest {
            plugin_name: field("Gerrit-PluginName"),
            version: field("Implementation-Version"),
            api_version: field("Gerrit-ApiVersion"),
        }
    }
}

/// An installed jar, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jar {
    pub digest: Digest,
    pub size: u64,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

impl Jar {
    /// The jar stored as `digest`, described by `manifest`.
    pub fn new(digest: Digest, size: u64, manifest: &JarManifest) -> Result<Self, DomainError> {
        let check = |what: &str, v: &Option<String>| match v {
            Some(v) if v.chars().count() > MAX_VERSION_CHARS || v.chars().any(char::is_control) => {
                Err(DomainError::InvalidArgument(format!(
                    "the jar's {what} is not a version"
                )))
            }
            _ => Ok(()),
        };
        check("Implementation-Version", &manifest.version)?;
        check("Gerrit-ApiVersion", &manifest.api_version)?;
        Ok(Jar {
            digest,
            size,
            version: manifest.version.clone().unwrap_or_default(),
            api_version: manifest.api_version.clone(),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GerritPlugin {
    pub id: Option<String>,
    pub jar: Option<Jar>,
    pub disabled: bool,
    /// How many times it was installed or reloaded.
    pub revision: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GerritPluginCommand {
    /// Install (or overwrite) the plugin `plugin_id` with `jar`, fetched from `source` (a URL,
    /// or `upload` for a jar sent in the request body).
    Install {
        plugin_id: String,
        jar: Jar,
        source: String,
    },
    Enable,
    /// Disable it; refused for a plugin the server's configuration marks `mandatory`.
    Disable {
        mandatory: bool,
    },
    /// Load it again: `jar` is the stored jar read anew, `None` when its bytes are gone.
    Reload {
        jar: Option<Jar>,
    },
}

impl Aggregate for GerritPlugin {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        match event {
            DomainEvent::GerritPluginInstalled { plugin_id, jar, .. } => {
                self.id = Some(plugin_id.clone());
                self.jar = Some(jar.clone());
                self.disabled = false;
                self.revision += 1;
            }
            DomainEvent::GerritPluginReloaded { jar, .. } => {
                self.jar = Some(jar.clone());
                self.revision += 1;
            }
            DomainEvent::GerritPluginEnabled { .. } => self.disabled = false,
            DomainEvent::GerritPluginDisabled { .. } => self.disabled = true,
            _ => {}
        }
        self
    }
}

pub fn decide(
    state: &GerritPlugin,
    command: &GerritPluginCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    let installed = || {
        state
            .id
            .clone()
            .ok_or_else(|| DomainError::NotFound("Not found".into()))
    };
    match command {
        GerritPluginCommand::Install {
            plugin_id,
            jar,
            source,
        } => {
            parse_id(plugin_id)?;
            Ok(vec![DomainEvent::GerritPluginInstalled {
                plugin_id: plugin_id.clone(),
                jar: jar.clone(),
                source: source.chars().take(2048).collect(),
                revision: state.revision + 1,
            }])
        }
        GerritPluginCommand::Enable => {
            let plugin_id = installed()?;
            Ok(if state.disabled {
                vec![DomainEvent::GerritPluginEnabled { plugin_id }]
            } else {
                vec![]
            })
        }
        GerritPluginCommand::Disable { mandatory } => {
            let plugin_id = installed()?;
            if *mandatory {
                return Err(DomainError::Forbidden(format!(
                    "Plugin {plugin_id} is mandatory"
                )));
            }
            Ok(if state.disabled {
                vec![]
            } else {
                vec![DomainEvent::GerritPluginDisabled { plugin_id }]
            })
        }
        GerritPluginCommand::Reload { jar } => {
            let plugin_id = installed()?;
            let Some(jar) = jar else {
                return Err(DomainError::Conflict(format!(
                    "cannot reload {plugin_id}: its jar is no longer stored"
                )));
            };
            Ok(vec![DomainEvent::GerritPluginReloaded {
                plugin_id,
                jar: jar.clone(),
                revision: state.revision + 1,
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar(version: &str) -> Jar {
        Jar {
            digest: Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap(),
            size: 10,
            version: version.into(),
            api_version: None,
        }
    }

    fn fold(mut state: GerritPlugin, events: Vec<DomainEvent>) -> GerritPlugin {
        for e in &events {
            state = state.evolve(e);
        }
        state
    }

    #[test]
    fn manifests_are_read_with_continuations_and_only_the_main_section() {
        let m = JarManifest::parse(
            "Manifest-Version: 1.0\r\nGerrit-PluginName: delete-pro\r\n ject\r\nImplementation-Version: 2.8\r\n\r\nName: other\r\nGerrit-ApiVersion: 9\r\n",
        );
        assert_eq!(m.plugin_name.as_deref(), Some("delete-project"));
        assert_eq!(m.version.as_deref(), Some("2.8"));
        assert_eq!(m.api_version, None);
    }

    #[test]
    fn ids_are_checked() {
        assert!(parse_id("delete-project").is_ok());
        for bad in ["", "-x", "a/b", "a..b", "x.jar", "a b", &"a".repeat(101)] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_plugin_is_installed_disabled_enabled_and_reloaded() {
        let install = GerritPluginCommand::Install {
            plugin_id: "p".into(),
            jar: jar("1.0"),
            source: "upload".into(),
        };
        let empty = GerritPlugin::default();
        assert!(matches!(
            decide(&empty, &GerritPluginCommand::Enable),
            Err(DomainError::NotFound(_))
        ));
        let p = fold(empty.clone(), decide(&empty, &install).unwrap());
        assert_eq!((p.revision, p.disabled), (1, false));
        assert!(matches!(
            decide(&p, &GerritPluginCommand::Disable { mandatory: true }),
            Err(DomainError::Forbidden(_))
        ));
        let p = fold(
            p.clone(),
            decide(&p, &GerritPluginCommand::Disable { mandatory: false }).unwrap(),
        );
        assert!(p.disabled);
        assert!(matches!(
            decide(&p, &GerritPluginCommand::Reload { jar: None }),
            Err(DomainError::Conflict(_))
        ));
        let p = fold(
            p.clone(),
            decide(
                &p,
                &GerritPluginCommand::Reload {
                    jar: Some(jar("1.1")),
                },
            )
            .unwrap(),
        );
        assert_eq!(p.revision, 2);
        assert!(p.disabled, "a reload keeps a disabled plugin disabled");
        // Installing again overwrites and enables.
        let p = fold(p.clone(), decide(&p, &install).unwrap());
        assert_eq!((p.revision, p.disabled), (3, false));
        assert_eq!(decide(&p, &GerritPluginCommand::Enable), Ok(vec![]));
    }
}
