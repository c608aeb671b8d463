//! Robot commands, in either kind of namespace: a robot lives on its namespace's own stream
//! (an organization's or a user's).

use annals_domain::organization::{self, Organization, OrganizationCommand};
use annals_domain::reservation::{self, Reservation};
use annals_domain::robot::RobotCommand;
use annals_domain::user::{self, User, UserCommand};
use annals_domain::{DomainError, DomainEvent, NamespaceKind, NamespaceName};

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

/// The live aggregate that owns a namespace.
pub(crate) enum Owner {
    Organization(Loaded<Organization>),
    User(Loaded<User>),
}

impl Owner {
    pub fn scope(&self) -> Scope {
        match self {
            Owner::Organization(o) => match (o.state.id, o.state.name.clone()) {
                (Some(id), Some(n)) => Scope::namespace(id, n, NamespaceKind::Organization),
                _ => Scope::default(),
            },
            Owner::User(u) => match (u.state.id, u.state.username.clone()) {
                (Some(id), Some(n)) => Scope::namespace(id, n, NamespaceKind::User),
                _ => Scope::default(),
            },
        }
    }
}

impl CommandService {
    /// The live organization or user that owns the namespace `name`.
    pub(crate) async fn load_owner(&self, name: &str) -> Result<Owner, CommandError> {
        let not_found = || DomainError::NotFound(format!("Namespace {name} does not exist"));
        let name = NamespaceName::parse(name).map_err(|_| not_found())?;
        let names: Loaded<Reservation> = self.load(reservation::namespace_stream(&name)).await?;
        let id = names.state.owner.ok_or_else(not_found)?;
        let org: Loaded<Organization> = self.load(organization::stream(id)).await?;
        if org.version.is_some() {
            return if org.state.is_live() {
                Ok(Owner::Organization(org))
            } else {
                Err(not_found().into())
            };
        }
        let account: Loaded<User> = self.load(user::stream(id)).await?;
        if account.state.is_live() {
            Ok(Owner::User(account))
        } else {
            Err(not_found().into())
        }
    }

    /// Creates, regenerates or deletes a robot of the namespace `namespace`.
    pub async fn robot_command(
        &self,
        envelope: &Envelope,
        namespace: &str,
        command: RobotCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let owner = self.load_owner(namespace).await?;
            let mut plan = Plan::new(owner.scope());
            let (stream, expected, events): (_, _, Vec<DomainEvent>) = match &owner {
                Owner::Organization(o) => (
                    &o.stream,
                    o.expected(),
                    organization::decide(&o.state, &OrganizationCommand::Robot(command.clone()))?,
                ),
                Owner::User(u) => (
                    &u.stream,
                    u.expected(),
                    user::decide(&u.state, &UserCommand::Robot(command.clone()))?,
                ),
            };
            plan.push(stream, expected, events);
            Ok(plan)
        })
        .await
    }
}
