//! OAuth applications of an organization: a client id, a redirect URI its tokens are answered
//! to, and a client secret recorded only by its SHA-256.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::error::DomainError;
use crate::event::DomainEvent;

/// Applications an organization holds at most.
pub const MAX_APPLICATIONS: usize = 100;
/// The longest name, description or URI.
pub const MAX_FIELD_CHARS: usize = 2048;

/// What an application shows of itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicationDetails {
    pub name: String,
    pub description: String,
    pub application_uri: String,
    pub redirect_uri: String,
    pub avatar_email: Option<String>,
}

impl ApplicationDetails {
    fn validate(&self) -> Result<(), DomainError> {
        if self.name.trim().is_empty() {
            return Err(DomainError::InvalidArgument(
                "An application needs a name".into(),
            ));
        }
        let fields = [
            &self.name,
            &self.description,
            &self.application_uri,
            &self.redirect_uri,
        ];
        if fields
            .iter()
            .chain(self.avatar_email.as_ref().iter())
            .any(|f| f.chars().count() > MAX_FIELD_CHARS)
        {
            return Err(DomainError::InvalidArgument(format!(
                "Application fields are at most {MAX_FIELD_CHARS} characters"
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub details: ApplicationDetails,
    pub secret_sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applications(pub BTreeMap<String, Application>);

#[derive(Debug, Clone, PartialEq)]
pub enum ApplicationCommand {
    Create {
        client_id: String,
        details: ApplicationDetails,
        client_secret_sha256: String,
    },
    Update {
        client_id: String,
        details: ApplicationDetails,
    },
    ResetSecret {
        client_id: String,
        client_secret_sha256: String,
    },
    Delete {
        client_id: String,
    },
}

impl Applications {
    pub fn get(&self, client_id: &str) -> Option<&Application> {
        self.0.get(client_id)
    }

    pub fn evolve(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::ApplicationCreated {
                client_id,
                name,
                description,
                application_uri,
                redirect_uri,
                avatar_email,
                client_secret_sha256,
                ..
            } => {
                self.0.insert(
                    client_id.clone(),
                    Application {
                        details: ApplicationDetails {
                            name: name.clone(),
                            description: description.clone(),
                            application_uri: application_uri.clone(),
                            redirect_uri: redirect_uri.clone(),
                            avatar_email: avatar_email.clone(),
                        },
                        secret_sha256: client_secret_sha256.clone(),
                    },
                );
            }
            DomainEvent::ApplicationUpdated {
                client_id,
                name,
                description,
                application_uri,
                redirect_uri,
                avatar_email,
                ..
            } => {
                if let Some(app) = self.0.get_mut(client_id) {
                    app.details = ApplicationDetails {
                        name: name.clone(),
                        description: description.clone(),
                        application_uri: application_uri.clone(),
                        redirect_uri: redirect_uri.clone(),
                        avatar_email: avatar_email.clone(),
                    };
                }
            }
            DomainEvent::ApplicationSecretReset {
                client_id,
                client_secret_sha256,
                ..
            } => {
                if let Some(app) = self.0.get_mut(client_id) {
                    app.secret_sha256 = client_secret_sha256.clone();
                }
            }
            DomainEvent::ApplicationDeleted { client_id, .. } => {
                self.0.remove(client_id);
            }
            _ => {}
        }
    }

    fn existing(&self, client_id: &str) -> Result<&Application, DomainError> {
        self.0
            .get(client_id)
            .ok_or_else(|| DomainError::NotFound(format!("No application {client_id}")))
    }

    pub fn decide(
        &self,
        organization_id: Uuid,
        command: &ApplicationCommand,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        match command {
            ApplicationCommand::Create {
                client_id,
                details,
                client_secret_sha256,
            } => {
                if self.0.contains_key(client_id) {
                    return Ok(vec![]);
                }
                if self.0.len() >= MAX_APPLICATIONS {
                    return Err(DomainError::InvalidArgument(format!(
                        "An organization holds at most {MAX_APPLICATIONS} applications"
                    )));
                }
                details.validate()?;
                crate::user::require_sha256(client_secret_sha256, "A client secret")?;
                Ok(vec![DomainEvent::ApplicationCreated {
                    organization_id,
                    client_id: client_id.clone(),
                    name: details.name.clone(),
                    description: details.description.clone(),
                    application_uri: details.application_uri.clone(),
                    redirect_uri: details.redirect_uri.clone(),
                    avatar_email: details.avatar_email.clone(),
                    client_secret_sha256: client_secret_sha256.clone(),
                }])
            }
            ApplicationCommand::Update { client_id, details } => {
                let app = self.existing(client_id)?;
                details.validate()?;
                if app.details == *details {
                    return Ok(vec![]);
                }
                Ok(vec![DomainEvent::ApplicationUpdated {
                    organization_id,
                    client_id: client_id.clone(),
                    name: details.name.clone(),
                    description: details.description.clone(),
                    application_uri: details.application_uri.clone(),
                    redirect_uri: details.redirect_uri.clone(),
                    avatar_email: details.avatar_email.clone(),
                }])
            }
            ApplicationCommand::ResetSecret {
                client_id,
                client_secret_sha256,
            } => {
                self.existing(client_id)?;
                crate::user::require_sha256(client_secret_sha256, "A client secret")?;
                Ok(vec![DomainEvent::ApplicationSecretReset {
                    organization_id,
                    client_id: client_id.clone(),
                    client_secret_sha256: client_secret_sha256.clone(),
                }])
            }
            ApplicationCommand::Delete { client_id } => {
                self.existing(client_id)?;
                Ok(vec![DomainEvent::ApplicationDeleted {
                    organization_id,
                    client_id: client_id.clone(),
                }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    fn details(name: &str) -> ApplicationDetails {
        ApplicationDetails {
            name: name.into(),
            redirect_uri: "http://localhost/cb".into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_application_is_made_changed_reset_and_deleted() {
        let org = Uuid::from_u128(1);
        let mut apps = Applications::default();
        let create = ApplicationCommand::Create {
            client_id: "C1".into(),
            details: details("ci"),
            client_secret_sha256: SHA.into(),
        };
        for e in apps.decide(org, &create).unwrap() {
            apps.evolve(&e);
        }
        assert_eq!(apps.get("C1").unwrap().details.name, "ci");
        assert!(apps.decide(org, &create).unwrap().is_empty(), "a retry");
        let same = ApplicationCommand::Update {
            client_id: "C1".into(),
            details: details("ci"),
        };
        assert!(apps.decide(org, &same).unwrap().is_empty());
        let nameless = ApplicationCommand::Update {
            client_id: "C1".into(),
            details: details(" "),
        };
        assert!(apps.decide(org, &nameless).is_err());
        let delete = ApplicationCommand::Delete {
            client_id: "C1".into(),
        };
        for e in apps.decide(org, &delete).unwrap() {
            apps.evolve(&e);
        }
        assert!(apps.get("C1").is_none());
        assert!(matches!(
            apps.decide(org, &delete),
            Err(DomainError::NotFound(_))
        ));
    }
}
