//! Gerrit plugin commands: each plugin on its own stream, server-wide (Gerrit plugins belong to
//! no namespace, so their events are in the superuser's log).

use std::sync::atomic::{AtomicBool, Ordering};

use annals_domain::gerrit_plugin::{self, GerritPlugin, GerritPluginCommand};

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

/// Whether a command created the plugin or changed an existing one.
#[derive(Debug, Clone, PartialEq)]
pub struct GerritOutcome {
    pub done: Done,
    /// The plugin had never been installed before this command.
    pub created: bool,
}

impl CommandService {
    pub async fn gerrit_plugin_command(
        &self,
        envelope: &Envelope,
        plugin_id: &str,
        command: GerritPluginCommand,
    ) -> Result<GerritOutcome, CommandError> {
        let plugin_id = gerrit_plugin::parse_id(plugin_id)?;
        // Set by the last planning round, the one whose events were appended.
        let created = AtomicBool::new(false);
        let done = self
            .run(envelope, || async {
                let plugin: Loaded<GerritPlugin> =
                    self.load(gerrit_plugin::stream(&plugin_id)).await?;
                created.store(plugin.state.id.is_none(), Ordering::Relaxed);
                let events = gerrit_plugin::decide(&plugin.state, &command)?;
                let mut plan = Plan::new(Scope::default());
                plan.push(&plugin.stream, plugin.expected(), events);
                Ok(plan)
            })
            .await?;
        Ok(GerritOutcome {
            done,
            created: created.into_inner(),
        })
    }
}
