//! User commands: creating an account (reserving its namespace) with its first API token.

use annals_domain::reservation::{self, NameScope, Reservation, ReservationCommand};
use annals_domain::user::{self, User, UserCommand};
use annals_domain::{Email, NamespaceKind, NamespaceName};

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

#[derive(Debug, Clone, PartialEq)]
pub struct CreateUser {
    pub username: String,
    pub email: Option<String>,
    pub super_user: bool,
    /// The first API token (all scopes), recorded by its SHA-256 only.
    pub token: Option<(String, String)>,
    /// The Argon2id hash of the password, when one is set.
    pub password_hash: Option<String>,
}

impl CommandService {
    pub async fn create_user(
        &self,
        envelope: &Envelope,
        command: CreateUser,
    ) -> Result<Done, CommandError> {
        let username = NamespaceName::parse(&command.username)?;
        let email = command.email.as_deref().map(Email::parse).transpose()?;
        let user_id = envelope.derived_id("user");
        let token_id = envelope.derived_id("token");
        self.run(envelope, || async {
            let names: Loaded<Reservation> =
                self.load(reservation::namespace_stream(&username)).await?;
            let reserved = reservation::decide(
                &names.state,
                &ReservationCommand::Reserve {
                    name: username.to_string(),
                    owner_id: user_id,
                    scope: NameScope::Namespace,
                },
            )?;
            let account: Loaded<User> = self.load(user::stream(user_id)).await?;
            let create = UserCommand::Create {
                user_id,
                username: username.clone(),
                email: email.clone(),
                super_user: command.super_user,
            };
            let mut events = user::decide(&account.state, &create)?;
            let created = events
                .iter()
                .fold(account.state.clone(), annals_domain::Aggregate::evolve);
            let mut state = created;
            let mut follow = Vec::new();
            if let Some((name, sha)) = &command.token {
                follow.push(UserCommand::IssueToken {
                    token_id,
                    name: name.clone(),
                    token_sha256: sha.clone(),
                });
            }
            if let Some(hash) = &command.password_hash {
                follow.push(UserCommand::SetPassword {
                    password_hash: hash.clone(),
                });
            }
            for c in follow {
                for e in user::decide(&state, &c)? {
                    state = annals_domain::Aggregate::evolve(state, &e);
                    events.push(e);
                }
            }
            let mut plan = Plan::new(Scope::namespace(
                user_id,
                username.clone(),
                NamespaceKind::User,
            ));
            plan.push(&names.stream, names.expected(), reserved).push(
                &account.stream,
                account.expected(),
                events,
            );
            Ok(plan)
        })
        .await
    }
}

impl CommandService {
    /// Issues a registry credential for the user; the caller generated the secret and passes
    /// only its SHA-256.
    pub async fn issue_registry_credential(
        &self,
        envelope: &Envelope,
        user_id: uuid::Uuid,
        username: &str,
        token_sha256: String,
        read_write: bool,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Done, CommandError> {
        let credential_id = envelope.derived_id("registry-credential");
        let username = NamespaceName::parse(username)?;
        self.run(envelope, || async {
            let account: Loaded<User> = self.load(user::stream(user_id)).await?;
            let events = user::decide(
                &account.state,
                &UserCommand::IssueRegistryCredential {
                    credential_id,
                    token_sha256: token_sha256.clone(),
                    read_write,
                    expires_at,
                },
            )?;
            let mut plan = Plan::new(Scope::namespace(
                user_id,
                username.clone(),
                NamespaceKind::User,
            ));
            plan.push(&account.stream, account.expected(), events);
            Ok(plan)
        })
        .await
    }
}

impl CommandService {
    /// Applies an account command (password, app tokens, OAuth tokens, stars, robots) to the
    /// user `user_id`.
    pub async fn change_user(
        &self,
        envelope: &Envelope,
        user_id: uuid::Uuid,
        command: UserCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let account: Loaded<User> = self.load(user::stream(user_id)).await?;
            let events = user::decide(&account.state, &command)?;
            let scope = match account.state.username.clone() {
                Some(name) => Scope::namespace(user_id, name, NamespaceKind::User),
                None => Scope::default(),
            };
            let mut plan = Plan::new(scope);
            plan.push(&account.stream, account.expected(), events);
            Ok(plan)
        })
        .await
    }
}
