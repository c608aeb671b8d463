//! Attempts, not only successes: failed logins and refused actions are appended to the
//! principal's own `audit-<id>` stream (with no expected version: they conflict with nothing).

use annals_domain::DomainEvent;
use annals_store::ExpectedVersion;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

pub fn audit_stream(principal_id: Uuid) -> String {
    format!("audit-{principal_id}")
}

impl CommandService {
    /// Records a `LoginFailed` or `AccessDenied` event for `principal_id`, in `scope` (the
    /// namespace and repository it concerned, so their logs show it).
    pub async fn record_attempt(
        &self,
        envelope: &Envelope,
        principal_id: Uuid,
        scope: Scope,
        event: DomainEvent,
    ) -> Result<Done, CommandError> {
        if !matches!(
            event,
            DomainEvent::LoginFailed { .. } | DomainEvent::AccessDenied { .. }
        ) {
            return Err(annals_domain::DomainError::InvalidArgument(
                "Only login failures and refusals are audit attempts".into(),
            )
            .into());
        }
        self.run(envelope, || async {
            let mut plan = Plan::new(scope.clone());
            plan.push(
                &audit_stream(principal_id),
                ExpectedVersion::Any,
                vec![event.clone()],
            );
            Ok(plan)
        })
        .await
    }
}
