//! Log exports: each on its own stream, `logexport-<id>`. Its events carry the namespace and
//! repository of the log they export, so the log index files the outcome under them.

use annals_domain::log_export::{self, LogExport, LogExportCommand};

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

impl CommandService {
    /// Requests an export, or records a step of one (its outcome, its notification).
    pub async fn log_export(
        &self,
        envelope: &Envelope,
        command: LogExportCommand,
    ) -> Result<Done, CommandError> {
        let export_id = match &command {
            LogExportCommand::Request { export_id, .. }
            | LogExportCommand::Complete { export_id, .. }
            | LogExportCommand::Fail { export_id, .. }
            | LogExportCommand::RecordNotified { export_id, .. } => *export_id,
        };
        self.run(envelope, || async {
            let state: Loaded<LogExport> = self.load(log_export::stream(export_id)).await?;
            let events = log_export::decide(&state.state, &command)?;
            let request = match &command {
                LogExportCommand::Request { request, .. } => Some(request),
                _ => state.state.request.as_ref(),
            };
            let mut scope = Scope::default();
            if let Some(r) = request {
                scope = Scope::namespace(r.namespace_id, r.namespace.clone(), r.namespace_kind);
                if let (Some(id), Some(name)) = (r.repository_id, &r.repository) {
                    scope = scope.with_repository(id, name);
                }
            }
            let mut plan = Plan::new(scope);
            plan.push(&state.stream, state.expected(), events);
            Ok(plan)
        })
        .await
    }
}
