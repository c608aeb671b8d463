//! Service key commands: each key on its own stream.

use annals_domain::service_key::{self, ServiceKey, ServiceKeyCommand};

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

impl CommandService {
    pub async fn service_key_command(
        &self,
        envelope: &Envelope,
        kid: &str,
        command: ServiceKeyCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let key: Loaded<ServiceKey> = self.load(service_key::stream(kid)).await?;
            let events = service_key::decide(&key.state, &command)?;
            let mut plan = Plan::new(Scope::default());
            plan.push(&key.stream, key.expected(), events);
            Ok(plan)
        })
        .await
    }
}
