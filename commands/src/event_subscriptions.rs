//! Event subscription commands: each subscription on its own stream. One restricted to a
//! namespace is logged under it (so its administrators see it in the namespace's logs); the
//! others are in the superuser's log.

use annals_domain::event_subscription::{self, EventSubscription, Selector, SubscriptionCommand};
use annals_domain::{DomainError, NamespaceName};
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

impl CommandService {
    /// Subscribes `url`; a namespace the selector names must be live, and its id is pinned.
    /// Answers the subscription id (derived from the command id, so a retry makes the same one).
    pub async fn create_event_subscription(
        &self,
        envelope: &Envelope,
        url: &str,
        selector: Selector,
        from_position: u64,
    ) -> Result<(Uuid, Done), CommandError> {
        let subscription_id = envelope.derived_id("event-subscription");
        let done = self
            .run(envelope, || async {
                let mut selector = selector.clone().validated()?;
                let scope = match &selector.namespace {
                    Some(name) => {
                        let ns = self.resolve_namespace(&NamespaceName::parse(name)?).await?;
                        selector.namespace_id = Some(ns.id);
                        ns.scope()
                    }
                    None => {
                        selector.namespace_id = None;
                        Scope::default()
                    }
                };
                let sub: Loaded<EventSubscription> = self
                    .load(event_subscription::stream(subscription_id))
                    .await?;
                let events = event_subscription::decide(
                    &sub.state,
                    &SubscriptionCommand::Create {
                        subscription_id,
                        url: url.to_owned(),
                        selector,
                        from_position,
                    },
                )?;
                let mut plan = Plan::new(scope);
                plan.push(&sub.stream, sub.expected(), events);
                Ok(plan)
            })
            .await?;
        Ok((subscription_id, done))
    }

    /// Pauses, resumes or deletes a subscription; `namespace` is the one it is restricted to
    /// (for the log), if any.
    pub async fn event_subscription_command(
        &self,
        envelope: &Envelope,
        subscription_id: Uuid,
        namespace: Option<(Uuid, &str)>,
        command: SubscriptionCommand,
    ) -> Result<Done, CommandError> {
        if matches!(command, SubscriptionCommand::Create { .. }) {
            return Err(
                DomainError::InvalidArgument("use create_event_subscription".into()).into(),
            );
        }
        self.run(envelope, || async {
            let scope = match namespace {
                Some((id, name)) => match NamespaceName::parse(name) {
                    Ok(name) => match self.resolve_namespace(&name).await {
                        Ok(ns) if ns.id == id => ns.scope(),
                        _ => Scope::default(),
                    },
                    Err(_) => Scope::default(),
                },
                None => Scope::default(),
            };
            let sub: Loaded<EventSubscription> = self
                .load(event_subscription::stream(subscription_id))
                .await?;
            let events = event_subscription::decide(&sub.state, &command)?;
            let mut plan = Plan::new(scope);
            plan.push(&sub.stream, sub.expected(), events);
            Ok(plan)
        })
        .await
    }
}
