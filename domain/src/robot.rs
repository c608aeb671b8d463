//! Robot accounts: machine users of a namespace, named `namespace+shortname`, that hold only
//! the permissions granted to them. They live on their namespace's own stream (an organization's
//! or a user's), so deleting one and dropping its team memberships is one atomic change.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::error::DomainError;
use crate::event::DomainEvent;

/// The longest `unstructured_metadata` a robot keeps, as JSON text.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// The longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;

/// A robot's short name: `^[a-z][a-z0-9_]{1,254}$`, as Quay.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RobotShortname(String);

impl RobotShortname {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && (2..=255).contains(&s.len()) {
            Ok(RobotShortname(s.to_owned()))
        } else {
            Err(DomainError::InvalidName(format!(
                "Invalid robot account name '{s}': must match ^[a-z][a-z0-9_]{{1,254}}$"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `namespace+shortname`.
pub fn full_name(namespace: &str, short: &str) -> String {
    format!("{namespace}+{short}")
}

/// Splits a robot's full name; `None` when `name` is not one.
pub fn split_full_name(name: &str) -> Option<(&str, &str)> {
    name.split_once('+')
}

#[derive(Debug, Clone, PartialEq)]
pub struct Robot {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub token_sha256: String,
}

/// The robots of one namespace, by short name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Robots(pub BTreeMap<String, Robot>);

#[derive(Debug, Clone, PartialEq)]
pub enum RobotCommand {
    Create {
        robot_id: Uuid,
        shortname: RobotShortname,
        description: String,
        unstructured_metadata: serde_json::Value,
        token_sha256: String,
    },
    RegenerateToken {
        shortname: RobotShortname,
        token_sha256: String,
    },
    Delete {
        shortname: RobotShortname,
    },
}

impl Robots {
    pub fn get(&self, short: &str) -> Option<&Robot> {
        self.0.get(short)
    }

    pub fn by_id(&self, id: Uuid) -> Option<&Robot> {
        self.0.values().find(|r| r.id == id)
    }

    /// Folds the robot events of this namespace.
    pub fn evolve(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::RobotCreated {
                robot_id,
                name,
                description,
                token_sha256,
                ..
            } => {
                let short = split_full_name(name).map_or(name.as_str(), |(_, s)| s);
                self.0.insert(
                    short.to_owned(),
                    Robot {
                        id: *robot_id,
                        name: name.clone(),
                        description: description.clone(),
                        token_sha256: token_sha256.clone(),
                    },
                );
            }
            DomainEvent::RobotTokenRegenerated {
                robot_id,
                token_sha256,
                ..
            } => {
                if let Some(r) = self.0.values_mut().find(|r| r.id == *robot_id) {
                    r.token_sha256 = token_sha256.clone();
                }
            }
            DomainEvent::RobotDeleted { robot_id, .. } => self.0.retain(|_, r| r.id != *robot_id),
            _ => {}
        }
    }

    /// The events of a robot command in the namespace `namespace` (id `namespace_id`).
    pub fn decide(
        &self,
        namespace_id: Uuid,
        namespace: &str,
        command: &RobotCommand,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        match command {
            RobotCommand::Create {
                robot_id,
                shortname,
                description,
                unstructured_metadata,
                token_sha256,
            } => {
                if self.0.contains_key(shortname.as_str()) {
                    return Err(DomainError::InvalidArgument(format!(
                        "Existing robot with name: {}",
                        full_name(namespace, shortname.as_str())
                    )));
                }
                if description.chars().count() > MAX_DESCRIPTION_CHARS {
                    return Err(DomainError::InvalidArgument(format!(
                        "The description is longer than {MAX_DESCRIPTION_CHARS} characters"
                    )));
                }
                if !(unstructured_metadata.is_object() || unstructured_metadata.is_null()) {
                    return Err(DomainError::InvalidArgument(
                        "unstructured_metadata must be an object".into(),
                    ));
                }
                if unstructured_metadata.to_string().len() > MAX_METADATA_BYTES {
                    return Err(DomainError::InvalidArgument(format!(
                        "unstructured_metadata is larger than {MAX_METADATA_BYTES} bytes"
                    )));
                }
                crate::user::require_sha256(token_sha256, "A robot token")?;
                Ok(vec![DomainEvent::RobotCreated {
                    namespace_id,
                    robot_id: *robot_id,
                    name: full_name(namespace, shortname.as_str()),
                    description: description.clone(),
                    unstructured_metadata: unstructured_metadata.clone(),
                    token_sha256: token_sha256.clone(),
                }])
            }
            RobotCommand::RegenerateToken {
                shortname,
                token_sha256,
            } => {
                let robot = self.existing(namespace, shortname)?;
                crate::user::require_sha256(token_sha256, "A robot token")?;
                Ok(vec![DomainEvent::RobotTokenRegenerated {
                    namespace_id,
                    robot_id: robot.id,
                    name: robot.name.clone(),
                    token_sha256: token_sha256.clone(),
                }])
            }
            RobotCommand::Delete { shortname } => {
                let robot = self.existing(namespace, shortname)?;
                Ok(vec![DomainEvent::RobotDeleted {
                    namespace_id,
                    robot_id: robot.id,
                    name: robot.name.clone(),
                }])
            }
        }
    }

    fn existing(&self, namespace: &str, short: &RobotShortname) -> Result<&Robot, DomainError> {
        self.0.get(short.as_str()).ok_or_else(|| {
            DomainError::NotFound(format!(
                "Could not find robot with specified username: {}",
                full_name(namespace, short.as_str())
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn create(short: &str) -> RobotCommand {
        RobotCommand::Create {
            robot_id: Uuid::new_v4(),
            shortname: RobotShortname::parse(short).unwrap(),
            description: "builds".into(),
            unstructured_metadata: serde_json::json!({"team": "ci"}),
            token_sha256: SHA.into(),
        }
    }

    #[test]
    fn short_names_follow_quay() {
        assert!(RobotShortname::parse("ci_bot1").is_ok());
        for bad in ["", "a", "1bot", "Bot", "ci-bot", "ci+bot", &"a".repeat(256)] {
            assert!(RobotShortname::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(split_full_name("acme+ci"), Some(("acme", "ci")));
    }

    #[test]
    fn a_robot_is_created_once_regenerated_and_deleted() {
        let ns = Uuid::new_v4();
        let mut robots = Robots::default();
        for e in robots.decide(ns, "acme", &create("ci")).unwrap() {
            robots.evolve(&e);
        }
        assert_eq!(robots.get("ci").unwrap().name, "acme+ci");
        assert!(matches!(
            robots.decide(ns, "acme", &create("ci")),
            Err(DomainError::InvalidArgument(_))
        ));
        let short = RobotShortname::parse("ci").unwrap();
        let delete = RobotCommand::Delete {
            shortname: short.clone(),
        };
        for e in robots.decide(ns, "acme", &delete).unwrap() {
            robots.evolve(&e);
        }
        assert!(robots.get("ci").is_none());
        assert!(matches!(
            robots.decide(ns, "acme", &delete),
            Err(DomainError::NotFound(_))
        ));
    }

    #[test]
    fn oversized_or_odd_metadata_is_refused() {
        let mut c = create("ci");
        if let RobotCommand::Create {
            unstructured_metadata,
            ..
        } = &mut c
        {
            *unstructured_metadata = serde_json::json!([1, 2]);
        }
        assert!(Robots::default().decide(Uuid::nil(), "acme", &c).is_err());
        if let RobotCommand::Create {
            unstructured_metadata,
            ..
        } = &mut c
        {
            *unstructured_metadata = serde_json::json!({"x": "y".repeat(MAX_METADATA_BYTES)});
        }
        assert!(Robots::default().decide(Uuid::nil(), "acme", &c).is_err());
    }
}
