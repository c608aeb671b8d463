//! Global messages: one stream for the whole registry.

use annals_domain::message::{self, MessageCommand, Messages};

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

impl CommandService {
    pub async fn message_command(
        &self,
        envelope: &Envelope,
        command: MessageCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let state: Loaded<Messages> = self.load(message::STREAM.to_owned()).await?;
            let events = message::decide(&state.state, &command)?;
            let mut plan = Plan::new(Scope::default());
            plan.push(&state.stream, state.expected(), events);
            Ok(plan)
        })
        .await
    }
}
