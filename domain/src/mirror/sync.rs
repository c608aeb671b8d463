//! A mirror's synchronisations: when one is due, the worker's claim on it, what each tag came
//! to, and how it ended — all events on the repository's stream, so the log says what the
//! registry did by itself (Quay's `repo_mirror_sync_*` kinds).
//!
//! As in Quay: a sync is due when asked for (`SYNC_NOW`), or at its start date while retries
//! remain; a failed sync is retried at once until [`MAX_SYNC_RETRIES`] are spent, then waits
//! for the next interval; a cancelled one leaves the mirror idle until a sync is asked for
//! again. A sync that outlives its expiry (the worker died) may be taken over.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{MAX_SYNC_RETRIES, Mirror, SyncStatus};
use crate::digest::Digest;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::repository::Repository;
use crate::tag::TagName;
use crate::values::RepositoryState;

/// The sync a worker holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveSync {
    pub id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// How a sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    Success,
    Failed,
    Cancelled,
}

/// What the mirror worker does to a repository's mirror.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncCommand {
    /// Claim the mirror for sync `sync_id`, if it is due at `now`.
    Start { sync_id: Uuid, now: DateTime<Utc> },
    /// Record what `tag` came to: the digest copied, or why it failed.
    Tag {
        sync_id: Uuid,
        tag: TagName,
        result: Result<Digest, String>,
    },
    /// End the sync; `failure` says why it failed, if it did.
    Finish {
        sync_id: Uuid,
        now: DateTime<Utc>,
        failure: Option<String>,
        tags_synced: u32,
        tags_failed: u32,
        tags_deleted: u32,
    },
}

impl Mirror {
    /// Whether a worker may start a sync at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        if !self.config.is_enabled {
            return false;
        }
        match (self.status, self.sync) {
            (SyncStatus::Syncing, Some(sync)) => sync.expires_at <= now,
            (SyncStatus::SyncNow, _) => true,
            _ => self.retries_remaining > 0 && self.next_sync <= now,
        }
    }

    pub(super) fn evolve_sync(&mut self, event: &DomainEvent) {
        use DomainEvent::*;
        match event {
            RepositoryMirrorSyncStarted {
                sync_id,
                expires_at,
                ..
            } => {
                self.status = SyncStatus::Syncing;
                self.sync = Some(ActiveSync {
                    id: *sync_id,
                    expires_at: *expires_at,
                });
            }
            RepositoryMirrorSyncFinished {
                outcome,
                retries_remaining,
                next_sync,
                ..
            } => {
                self.status = match outcome {
                    SyncOutcome::Success => SyncStatus::Success,
                    SyncOutcome::Failed => SyncStatus::Fail,
                    SyncOutcome::Cancelled => SyncStatus::Cancel,
                };
                self.sync = None;
                self.retries_remaining = *retries_remaining;
                self.next_sync = *next_sync;
            }
            _ => {}
        }
    }
}

/// The first start at or after `now` of a schedule that began at `start`, every `interval_s`.
pub fn next_start(start: DateTime<Utc>, interval_s: u64, now: DateTime<Utc>) -> DateTime<Utc> {
    if start > now {
        return start;
    }
    let interval = interval_s.max(1) as i64;
    let elapsed = (now - start).num_seconds();
    start + Duration::seconds((elapsed / interval + 1) * interval)
}

pub fn decide(repo: &Repository, command: &SyncCommand) -> Result<Vec<DomainEvent>, DomainError> {
    let (Some(repository_id), true) = (repo.id, repo.is_live()) else {
        return Err(DomainError::NotFound("Repository not found".into()));
    };
    let mirror = repo
        .mirror
        .as_ref()
        .ok_or_else(|| DomainError::NotFound("Mirror configuration not found".into()))?;
    let held = |sync_id: &Uuid| mirror.sync.is_some_and(|s| s.id == *sync_id);
    match command {
        SyncCommand::Start { sync_id, now } => {
            if held(sync_id) {
                return Ok(vec![]);
            }
            // As in Quay, only a repository in the `MIRROR` state follows its upstream.
            if repo.state != Some(RepositoryState::Mirror) {
                return Err(DomainError::Conflict(
                    "The repository is not in the MIRROR state".into(),
                ));
            }
            if !mirror.is_due(*now) {
                return Err(DomainError::Conflict(
                    "The mirror is not due to sync".into(),
                ));
            }
            let timeout = Duration::seconds(mirror.config.timeout_s as i64);
            Ok(vec![DomainEvent::RepositoryMirrorSyncStarted {
                repository_id,
                sync_id: *sync_id,
                expires_at: *now + timeout,
                external_reference: mirror.config.external_reference.clone(),
                tag_globs: mirror.config.tag_globs.clone(),
            }])
        }
        SyncCommand::Tag {
            sync_id,
            tag,
            result,
        } => {
            // A tag copied while a cancel came in was copied all the same: the log says so.
            if !held(sync_id) {
                return Err(superseded());
            }
            Ok(vec![match result {
                Ok(digest) => DomainEvent::RepositoryMirrorTagSynced {
                    repository_id,
                    sync_id: *sync_id,
                    tag: tag.clone(),
                    digest: digest.clone(),
                    source: format!("{}:{tag}", mirror.config.external_reference),
                },
                Err(message) => DomainEvent::RepositoryMirrorTagSyncFailed {
                    repository_id,
                    sync_id: *sync_id,
                    tag: tag.clone(),
                    message: truncate(message),
                    source: format!("{}:{tag}", mirror.config.external_reference),
                },
            }])
        }
        SyncCommand::Finish {
            sync_id,
            now,
            failure,
            tags_synced,
            tags_failed,
            tags_deleted,
        } => {
            if !held(sync_id) {
                return Err(superseded());
            }
            let config = &mirror.config;
            let scheduled = next_start(mirror.next_sync, config.sync_interval_s, *now);
            let (outcome, retries_remaining, next_sync) = if mirror.status == SyncStatus::Cancel {
                (SyncOutcome::Cancelled, 0, scheduled)
            } else if failure.is_some() {
                match mirror.retries_remaining.saturating_sub(1) {
                    0 => (SyncOutcome::Failed, MAX_SYNC_RETRIES, scheduled),
                    left => (SyncOutcome::Failed, left, mirror.next_sync.min(*now)),
                }
            } else {
                (SyncOutcome::Success, MAX_SYNC_RETRIES, scheduled)
            };
            Ok(vec![DomainEvent::RepositoryMirrorSyncFinished {
                repository_id,
                sync_id: *sync_id,
                outcome,
                message: match outcome {
                    SyncOutcome::Cancelled => Some("The sync was cancelled".into()),
                    _ => failure.as_deref().map(truncate),
                },
                external_reference: config.external_reference.clone(),
                tag_globs: config.tag_globs.clone(),
                tags_synced: *tags_synced,
                tags_failed: *tags_failed,
                tags_deleted: *tags_deleted,
                retries_remaining,
                next_sync,
            }])
        }
    }
}

fn superseded() -> DomainError {
    DomainError::Conflict("The sync is no longer the mirror's current one".into())
}

/// Messages kept in the log are bounded.
fn truncate(message: &str) -> String {
    const MAX: usize = 1024;
    message.chars().take(MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Aggregate;
    use crate::mirror::tests::{config, repository_events};

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn apply(history: &mut Vec<DomainEvent>, command: SyncCommand) -> Result<(), DomainError> {
        let repo = Repository::from_history(history.iter());
        history.extend(decide(&repo, &command)?);
        Ok(())
    }

    #[test]
    fn only_a_repository_in_the_mirror_state_syncs() {
        let mut history = repository_events(config(Uuid::new_v4()));
        let DomainEvent::RepositoryCreated { repository_id, .. } = history[0] else {
            unreachable!()
        };
        history.push(DomainEvent::RepositoryStateChanged {
            repository_id,
            state: RepositoryState::Normal,
        });
        let start = SyncCommand::Start {
            sync_id: Uuid::new_v4(),
            now: at(0),
        };
        assert!(apply(&mut history, start).is_err());
    }

    #[test]
    fn schedules_advance_by_whole_intervals() {
        assert_eq!(next_start(at(100), 60, at(10)), at(100));
        assert_eq!(next_start(at(100), 60, at(100)), at(160));
        assert_eq!(next_start(at(100), 60, at(250)), at(280));
    }

    #[test]
    fn a_sync_is_claimed_once_and_ends_on_schedule() {
        let robot = Uuid::new_v4();
        let mut history = repository_events(config(robot));
        let sync = Uuid::new_v4();
        // The configuration's start date is in the past: due.
        apply(
            &mut history,
            SyncCommand::Start {
                sync_id: sync,
                now: at(0),
            },
        )
        .unwrap();
        // The same claim again appends nothing; another is refused while it runs.
        let len = history.len();
        apply(
            &mut history,
            SyncCommand::Start {
                sync_id: sync,
                now: at(1),
            },
        )
        .unwrap();
        assert_eq!(history.len(), len);
        let other = SyncCommand::Start {
            sync_id: Uuid::new_v4(),
            now: at(1),
        };
        assert!(apply(&mut history, other).is_err());
        let tag = TagName::parse("v1").unwrap();
        apply(
            &mut history,
            SyncCommand::Tag {
                sync_id: sync,
                tag,
                result: Err("boom".into()),
            },
        )
        .unwrap();
        apply(
            &mut history,
            SyncCommand::Finish {
                sync_id: sync,
                now: at(10),
                failure: None,
                tags_synced: 0,
                tags_failed: 1,
                tags_deleted: 0,
            },
        )
        .unwrap();
        let mirror = Repository::from_history(&history).mirror.unwrap();
        assert_eq!(mirror.status, SyncStatus::Success);
        assert!(mirror.next_sync > at(10));
        assert!(!mirror.is_due(at(10)));
        assert!(mirror.is_due(mirror.next_sync));
    }

    #[test]
    fn failures_retry_then_wait_and_a_cancel_idles() {
        let mut history = repository_events(config(Uuid::new_v4()));
        for round in 0..MAX_SYNC_RETRIES {
            let sync = Uuid::new_v4();
            let now = at(i64::from(round));
            apply(&mut history, SyncCommand::Start { sync_id: sync, now }).unwrap();
            apply(
                &mut history,
                SyncCommand::Finish {
                    sync_id: sync,
                    now,
                    failure: Some("unreachable".into()),
                    tags_synced: 0,
                    tags_failed: 0,
                    tags_deleted: 0,
                },
            )
            .unwrap();
        }
        let mirror = Repository::from_history(&history).mirror.unwrap();
        assert_eq!(mirror.status, SyncStatus::Fail);
        assert_eq!(mirror.retries_remaining, MAX_SYNC_RETRIES);
        assert!(
            !mirror.is_due(at(3)),
            "spent retries wait for the next interval"
        );

        // Asked for, started, cancelled: the tag copied meanwhile is recorded, and the end is
        // a cancel.
        apply(
            &mut history,
            SyncCommand::Start {
                sync_id: Uuid::new_v4(),
                now: at(3),
            },
        )
        .unwrap_err();
        let repo = Repository::from_history(&history);
        history
            .extend(crate::mirror::decide(&repo, &crate::mirror::MirrorCommand::SyncNow).unwrap());
        let sync = Uuid::new_v4();
        apply(
            &mut history,
            SyncCommand::Start {
                sync_id: sync,
                now: at(4),
            },
        )
        .unwrap();
        let repo = Repository::from_history(&history);
        history
            .extend(crate::mirror::decide(&repo, &crate::mirror::MirrorCommand::Cancel).unwrap());
        let tag = TagName::parse("v1").unwrap();
        let digest = Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
        apply(
            &mut history,
            SyncCommand::Tag {
                sync_id: sync,
                tag,
                result: Ok(digest),
            },
        )
        .unwrap();
        apply(
            &mut history,
            SyncCommand::Finish {
                sync_id: sync,
                now: at(5),
                failure: None,
                tags_synced: 0,
                tags_failed: 0,
                tags_deleted: 0,
            },
        )
        .unwrap();
        let mirror = Repository::from_history(&history).mirror.unwrap();
        assert_eq!(mirror.status, SyncStatus::Cancel);
        assert!(!mirror.is_due(at(1_000_000)), "a cancelled mirror idles");
    }
}
