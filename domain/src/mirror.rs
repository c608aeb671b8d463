//! Repository mirroring: a repository that follows an upstream one. Its configuration lives on
//! the repository's stream (so a push, which loads the repository, knows whether it is a
//! mirror and whose robot may write). The upstream password is never in the log: the event
//! names a credential id and the mirror worker keeps the secret under it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::RepoRole;
use crate::delegate::{Delegate, DelegateKind};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::repository::Repository;
use crate::values::RepositoryState;
use uuid::Uuid;

pub mod sync;
pub use sync::{ActiveSync, SyncCommand, SyncOutcome};

/// The longest upstream reference (`host[:port]/path`), as Quay's column.
pub const MAX_REFERENCE_CHARS: usize = 255;
/// The longest interval between two scheduled syncs: one year.
pub const MAX_SYNC_INTERVAL_S: u64 = 365 * 24 * 3600;
/// The shortest and longest time one sync may run (Quay's `skopeo_timeout_interval`).
pub const MIN_TIMEOUT_S: u64 = 300;
pub const MAX_TIMEOUT_S: u64 = 12 * 3600;
/// How many globs a rule holds, and how long each may be.
pub const MAX_GLOBS: usize = 100;
pub const MAX_GLOB_CHARS: usize = 256;
/// The longest username, password or proxy setting.
pub const MAX_SETTING_CHARS: usize = 1024;
/// Failed scheduled syncs retried before the next interval (Quay's `MAX_SYNC_RETRIES`).
pub const MAX_SYNC_RETRIES: u32 = 3;

/// How a mirror reaches its upstream and what it takes from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorConfig {
    pub is_enabled: bool,
    /// `host[:port]/path` of the upstream repository.
    pub external_reference: String,
    pub username: Option<String>,
    /// Names the password the mirror worker keeps; `None` when there is none.
    pub credential_id: Option<Uuid>,
    pub verify_tls: bool,
    pub unsigned_images: bool,
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Option<String>,
    pub sync_interval_s: u64,
    pub sync_start_date: DateTime<Utc>,
    pub timeout_s: u64,
    /// Tag globs (`fnmatch`): a tag matching any is mirrored.
    pub tag_globs: Vec<String>,
    /// The robot whose pushes the mirror's are; the only writer while the repository mirrors.
    pub robot: Delegate,
}

/// Where a mirror's synchronisation stands (Quay's `RepoMirrorStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SyncStatus {
    NeverRun,
    SyncNow,
    Syncing,
    Success,
    Fail,
    Cancel,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::NeverRun => "NEVER_RUN",
            SyncStatus::SyncNow => "SYNC_NOW",
            SyncStatus::Syncing => "SYNCING",
            SyncStatus::Success => "SUCCESS",
            SyncStatus::Fail => "FAIL",
            SyncStatus::Cancel => "CANCEL",
        }
    }
}

/// A repository's mirror as its events left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub config: MirrorConfig,
    pub status: SyncStatus,
    pub retries_remaining: u32,
    /// When the next scheduled sync is due: the configuration's start date, moved on by
    /// every sync that ends (`sync.rs`).
    pub next_sync: DateTime<Utc>,
    /// The sync a worker holds, if any.
    pub sync: Option<ActiveSync>,
}

impl Mirror {
    pub fn evolve(mirror: &mut Option<Mirror>, event: &DomainEvent) {
        use DomainEvent::*;
        match (event, mirror.as_mut()) {
            (RepositoryMirrorCreated { config, .. }, _) => {
                *mirror = Some(Mirror {
                    config: config.clone(),
                    status: SyncStatus::NeverRun,
                    retries_remaining: MAX_SYNC_RETRIES,
                    next_sync: config.sync_start_date,
                    sync: None,
                })
            }
            (RepositoryMirrorChanged { config, .. }, Some(m)) => {
                if config.sync_start_date != m.config.sync_start_date {
                    m.next_sync = config.sync_start_date;
                }
                m.config = config.clone();
            }
            (RepositoryMirrorEnabled { .. }, Some(m)) => m.config.is_enabled = true,
            (RepositoryMirrorDisabled { .. }, Some(m)) => m.config.is_enabled = false,
            (RepositoryMirrorSyncRequested { .. }, Some(m)) => {
                m.status = SyncStatus::SyncNow;
                m.retries_remaining = m.retries_remaining.max(1);
            }
            (RepositoryMirrorSyncCancelled { .. }, Some(m)) => {
                m.status = SyncStatus::Cancel;
                m.retries_remaining = 0;
            }
            (RepositoryDeleted { .. }, _) => *mirror = None,
            (_, Some(m)) => m.evolve_sync(event),
            _ => {}
        }
    }
}

/// What can be done to a repository's mirror.
#[derive(Debug, Clone, PartialEq)]
pub enum MirrorCommand {
    Create(MirrorConfig),
    Change(MirrorPatch),
    SyncNow,
    Cancel,
}

/// The settings a change sets; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MirrorPatch {
    pub is_enabled: Option<bool>,
    pub external_reference: Option<String>,
    /// A new username alone (the password stays).
    pub username: Option<Option<String>>,
    /// A new username with a new password (by credential id): both or neither.
    pub credentials: Option<(Option<String>, Option<Uuid>)>,
    pub verify_tls: Option<bool>,
    pub unsigned_images: Option<bool>,
    pub http_proxy: Option<Option<String>>,
    pub https_proxy: Option<Option<String>>,
    pub no_proxy: Option<Option<String>>,
    pub sync_interval_s: Option<u64>,
    pub sync_start_date: Option<DateTime<Utc>>,
    pub timeout_s: Option<u64>,
    pub tag_globs: Option<Vec<String>>,
    pub robot: Option<Delegate>,
}

impl MirrorPatch {
    pub fn apply(&self, old: &MirrorConfig) -> MirrorConfig {
        let mut c = old.clone();
        fn set<T: Clone>(slot: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *slot = v.clone();
            }
        }
        set(&mut c.is_enabled, &self.is_enabled);
        set(&mut c.external_reference, &self.external_reference);
        set(&mut c.username, &self.username);
        if let Some((username, credential_id)) = &self.credentials {
            c.username = username.clone();
            c.credential_id = *credential_id;
        }
        set(&mut c.verify_tls, &self.verify_tls);
        set(&mut c.unsigned_images, &self.unsigned_images);
        set(&mut c.http_proxy, &self.http_proxy);
        set(&mut c.https_proxy, &self.https_proxy);
        set(&mut c.no_proxy, &self.no_proxy);
        set(&mut c.sync_interval_s, &self.sync_interval_s);
        set(&mut c.sync_start_date, &self.sync_start_date);
        set(&mut c.timeout_s, &self.timeout_s);
        set(&mut c.tag_globs, &self.tag_globs);
        set(&mut c.robot, &self.robot);
        c
    }
}

/// Checks a configuration's values: the reference, the bounds, the globs.
pub fn check_config(config: &MirrorConfig) -> Result<(), DomainError> {
    check_reference(&config.external_reference)?;
    if config.sync_interval_s == 0 || config.sync_interval_s > MAX_SYNC_INTERVAL_S {
        return Err(invalid(format!(
            "sync_interval must be between 1 and {MAX_SYNC_INTERVAL_S} seconds"
        )));
    }
    if !(MIN_TIMEOUT_S..=MAX_TIMEOUT_S).contains(&config.timeout_s) {
        return Err(invalid(
            "Skopeo timeout interval cannot be less than 300 seconds".to_owned(),
        ));
    }
    check_globs(&config.tag_globs)?;
    for value in [
        &config.username,
        &config.http_proxy,
        &config.https_proxy,
        &config.no_proxy,
    ]
    .into_iter()
    .flatten()
    {
        check_setting(value)?;
    }
    if config.robot.kind != DelegateKind::Robot {
        return Err(invalid("Invalid robot".to_owned()));
    }
    Ok(())
}

/// A username, password or proxy setting: bounded, no control characters.
pub fn check_setting(value: &str) -> Result<(), DomainError> {
    if value.chars().count() > MAX_SETTING_CHARS || value.chars().any(char::is_control) {
        return Err(invalid(format!(
            "settings are at most {MAX_SETTING_CHARS} characters without control characters"
        )));
    }
    Ok(())
}

/// `host[:port]/path`: a registry host and a repository path, no scheme, no whitespace.
pub fn check_reference(reference: &str) -> Result<(), DomainError> {
    let bad = || invalid(format!("Invalid external reference: {reference:.64}"));
    if reference.is_empty()
        || reference.chars().count() > MAX_REFERENCE_CHARS
        || reference.contains("://")
        || reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    let (host, path) = reference.split_once('/').ok_or_else(bad)?;
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    let path_ok = !path.is_empty()
        && path.split('/').all(|segment| {
            !segment.is_empty()
                && segment.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
        });
    if host_ok && path_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// A rule's globs: at least one, each a valid pattern.
pub fn check_globs(globs: &[String]) -> Result<(), DomainError> {
    if globs.is_empty() {
        return Err(invalid(
            "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule"
                .to_owned(),
        ));
    }
    if globs.len() > MAX_GLOBS {
        return Err(invalid(format!("a rule holds at most {MAX_GLOBS} globs")));
    }
    for glob in globs {
        check_glob(glob)?;
    }
    Ok(())
}

/// One `fnmatch` pattern: tag characters and `* ? [ ] !`, every `[` closed.
pub fn check_glob(glob: &str) -> Result<(), DomainError> {
    let bad = || invalid(format!("Invalid tag glob: {glob:.64}"));
    if glob.is_empty() || glob.chars().count() > MAX_GLOB_CHARS {
        return Err(bad());
    }
    let mut in_class = false;
    for c in glob.chars() {
        match c {
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '*' | '?' | '!' | '-' | '.' | '_' => {}
            c if c.is_ascii_alphanumeric() => {}
            _ => return Err(bad()),
        }
    }
    if in_class { Err(bad()) } else { Ok(()) }
}

/// Whether `tag` matches the `fnmatch` pattern `glob` (`*`, `?`, `[abc]`, `[!a-z]`).
pub fn glob_matches(glob: &str, tag: &str) -> bool {
    fn at(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| at(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && at(&p[1..], &t[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(1).position(|&c| c == ']').map(|i| i + 1) else {
                    return !t.is_empty() && t[0] == '[' && at(&p[1..], &t[1..]);
                };
                let Some(&c) = t.first() else { return false };
                let (negate, class) = match &p[1..close] {
                    ['!', rest @ ..] => (true, rest),
                    rest => (false, rest),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != negate && at(&p[close + 1..], &t[1..])
            }
            Some(&c) => t.first() == Some(&c) && at(&p[1..], &t[1..]),
        }
    }
    let p: Vec<char> = glob.chars().collect();
    let t: Vec<char> = tag.chars().collect();
    at(&p, &t)
}

/// Whether any of `globs` matches `tag`.
pub fn rule_matches(globs: &[String], tag: &str) -> bool {
    globs.iter().any(|g| glob_matches(g, tag))
}

fn invalid(message: String) -> DomainError {
    DomainError::InvalidArgument(message)
}

/// The names of the settings `new` changes from `old`, as Quay's log entries name them.
fn changes(old: &MirrorConfig, new: &MirrorConfig) -> Vec<String> {
    let mut out = Vec::new();
    let mut diff = |changed: bool, name: &str| {
        if changed {
            out.push(name.to_owned());
        }
    };
    diff(
        old.external_reference != new.external_reference,
        "external_reference",
    );
    diff(old.robot.id != new.robot.id, "robot_username");
    diff(
        old.sync_start_date != new.sync_start_date,
        "sync_start_date",
    );
    diff(old.sync_interval_s != new.sync_interval_s, "sync_interval");
    diff(old.timeout_s != new.timeout_s, "skopeo_timeout_interval");
    diff(old.username != new.username, "external_registry_username");
    diff(
        old.credential_id != new.credential_id,
        "external_registry_password",
    );
    diff(old.verify_tls != new.verify_tls, "verify_tls");
    diff(
        old.unsigned_images != new.unsigned_images,
        "unsigned_images",
    );
    diff(old.http_proxy != new.http_proxy, "http_proxy");
    diff(old.https_proxy != new.https_proxy, "https_proxy");
    diff(old.no_proxy != new.no_proxy, "no_proxy");
    diff(old.tag_globs != new.tag_globs, "mirror_rule");
    out
}

/// The grant that lets the mirror's robot push, unless it holds `write` or `admin` already.
fn robot_grant(repo: &Repository, repository_id: Uuid, robot: &Delegate) -> Option<DomainEvent> {
    let previous = repo.permissions.get(&robot.id).map(|(_, r)| *r);
    (previous < Some(RepoRole::Write)).then(|| DomainEvent::RepositoryPermissionSet {
        repository_id,
        delegate: robot.clone(),
        role: RepoRole::Write,
        previous,
    })
}

pub fn decide(repo: &Repository, command: &MirrorCommand) -> Result<Vec<DomainEvent>, DomainError> {
    let (Some(repository_id), true) = (repo.id, repo.is_live()) else {
        return Err(DomainError::NotFound("Repository not found".into()));
    };
    let not_found = || DomainError::NotFound("Mirror configuration not found".into());
    match command {
        MirrorCommand::Create(config) => {
            if repo.mirror.is_some() {
                // Quay answers 409 here (not the 400 of other duplicates).
                return Err(DomainError::Conflict(format!(
                    "Mirror configuration already exits for repository {}/{}",
                    repo.namespace.as_ref().map_or("", |n| n.as_str()),
                    repo.name.as_ref().map_or("", |n| n.as_str()),
                )));
            }
            check_config(config)?;
            let mut events = vec![DomainEvent::RepositoryMirrorCreated {
                repository_id,
                config: config.clone(),
            }];
            if repo.state != Some(RepositoryState::Mirror) {
                events.push(DomainEvent::RepositoryStateChanged {
                    repository_id,
                    state: RepositoryState::Mirror,
                });
            }
            events.extend(robot_grant(repo, repository_id, &config.robot));
            Ok(events)
        }
        MirrorCommand::Change(patch) => {
            let mirror = repo.mirror.as_ref().ok_or_else(not_found)?;
            let config = &patch.apply(&mirror.config);
            check_config(config)?;
            let mut events = Vec::new();
            if config.is_enabled != mirror.config.is_enabled {
                events.push(if config.is_enabled {
                    DomainEvent::RepositoryMirrorEnabled { repository_id }
                } else {
                    DomainEvent::RepositoryMirrorDisabled { repository_id }
                });
            }
            let changed = changes(&mirror.config, config);
            if !changed.is_empty() {
                events.push(DomainEvent::RepositoryMirrorChanged {
                    repository_id,
                    config: config.clone(),
                    changed,
                });
            }
            if config.robot.id != mirror.config.robot.id {
                events.extend(robot_grant(repo, repository_id, &config.robot));
            }
            Ok(events)
        }
        MirrorCommand::SyncNow => {
            let mirror = repo.mirror.as_ref().ok_or_else(not_found)?;
            if mirror.status == SyncStatus::Syncing {
                return Err(not_found());
            }
            Ok(vec![DomainEvent::RepositoryMirrorSyncRequested {
                repository_id,
            }])
        }
        MirrorCommand::Cancel => {
            let mirror = repo.mirror.as_ref().ok_or_else(not_found)?;
            if !matches!(mirror.status, SyncStatus::Syncing | SyncStatus::SyncNow) {
                return Err(not_found());
            }
            Ok(vec![DomainEvent::RepositoryMirrorSyncCancelled {
                repository_id,
            }])
        }
    }
}

/// Whether `actor` may push into `repo`: anyone the access rules let, except that a read-only
/// repository takes no push and a mirroring one takes its mirror's robot's alone.
pub fn check_push(repo: &Repository, actor: Option<Uuid>) -> Result<(), DomainError> {
    if repo.state == Some(RepositoryState::ReadOnly) {
        return Err(DomainError::Forbidden(
            "Repository is in read only mode: it takes no pushes".into(),
        ));
    }
    if repo.state != Some(RepositoryState::Mirror) {
        return Ok(());
    }
    match &repo.mirror {
        Some(m) if Some(m.config.robot.id) == actor => Ok(()),
        _ => Err(DomainError::Forbidden(
            "Repository is in mirror mode: only its mirror may push".into(),
        )),
    }
}

/// How a refused change of a mirroring repository's content begins (Quay's message); the
/// registry family answers it as `DENIED`, not as a pause to retry after.
pub const MIRROR_MODE: &str = "Repository is in read only or mirror mode";

/// Whether `actor` may change tags, labels or manifests of `repo` through the API: not while
/// it is read-only or mirrors (Quay answers 503), except a mirror's own robot.
pub fn check_content_change(repo: &Repository, actor: Option<Uuid>) -> Result<(), DomainError> {
    match (&repo.state, &repo.mirror) {
        (Some(RepositoryState::Mirror), Some(m)) if Some(m.config.robot.id) == actor => Ok(()),
        (Some(RepositoryState::Mirror), _) => {
            Err(DomainError::Unavailable(format!("{MIRROR_MODE}: MIRROR")))
        }
        (Some(RepositoryState::ReadOnly), _) => Err(DomainError::Unavailable(format!(
            "{MIRROR_MODE}: READ_ONLY"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A repository's creation and its mirror's, with `config`.
    pub(crate) fn repository_events(config: MirrorConfig) -> Vec<DomainEvent> {
        let created = created();
        let DomainEvent::RepositoryCreated { repository_id, .. } = created else {
            unreachable!()
        };
        vec![
            created,
            DomainEvent::RepositoryMirrorCreated {
                repository_id,
                config,
            },
            DomainEvent::RepositoryStateChanged {
                repository_id,
                state: RepositoryState::Mirror,
            },
        ]
    }

    fn created() -> DomainEvent {
        use crate::names::{NamespaceName, RepositoryName};
        use crate::values::{NamespaceKind, RepositoryKind, Visibility};
        DomainEvent::RepositoryCreated {
            repository_id: Uuid::new_v4(),
            namespace_id: Uuid::new_v4(),
            namespace_kind: NamespaceKind::Organization,
            namespace: NamespaceName::parse("acme").unwrap(),
            name: RepositoryName::parse("web").unwrap(),
            visibility: Visibility::Private,
            description: String::new(),
            kind: RepositoryKind::Image,
        }
    }

    #[test]
    fn globs_match_as_fnmatch() {
        assert!(glob_matches("v1.*", "v1.2"));
        assert!(!glob_matches("v1.*", "v2.0"));
        assert!(glob_matches("latest", "latest"));
        assert!(glob_matches("v?", "v3"));
        assert!(glob_matches("[ab]x", "bx"));
        assert!(!glob_matches("[!ab]x", "bx"));
        assert!(glob_matches("[0-9]*", "7up"));
        assert!(glob_matches("*", ""));
    }

    #[test]
    fn bad_globs_are_refused() {
        assert!(check_glob("v1.*").is_ok());
        assert!(check_glob("[ab").is_err());
        assert!(check_glob("").is_err());
        assert!(check_glob("a b").is_err());
        assert!(check_globs(&[]).is_err());
    }

    fn repository() -> Repository {
        use crate::aggregate::Aggregate;
        Repository::from_history(&[created()])
    }

    pub(crate) fn config(robot: Uuid) -> MirrorConfig {
        MirrorConfig {
            is_enabled: true,
            external_reference: "registry.example.com/library/web".into(),
            username: None,
            credential_id: None,
            verify_tls: true,
            unsigned_images: false,
            http_proxy: None,
            https_proxy: None,
            no_proxy: None,
            sync_interval_s: 3600,
            sync_start_date: Utc::now(),
            timeout_s: 300,
            tag_globs: vec!["v*".into()],
            robot: Delegate {
                kind: DelegateKind::Robot,
                id: robot,
                name: "acme+mirror".into(),
            },
        }
    }

    #[test]
    fn a_mirror_takes_pushes_from_its_robot_alone() {
        use crate::aggregate::Aggregate;
        let robot = Uuid::new_v4();
        let repo = repository();
        assert!(check_push(&repo, Some(Uuid::new_v4())).is_ok());
        let events = decide(&repo, &MirrorCommand::Create(config(robot))).unwrap();
        // Created, MIRROR state, write for the robot: one batch.
        assert_eq!(events.len(), 3);
        let repo = events.iter().fold(repo, |r, e| r.evolve(e));
        assert_eq!(repo.state, Some(RepositoryState::Mirror));
        assert!(check_push(&repo, Some(robot)).is_ok());
        assert!(matches!(
            check_push(&repo, Some(Uuid::new_v4())),
            Err(DomainError::Forbidden(_))
        ));
        assert!(matches!(
            decide(&repo, &MirrorCommand::Create(config(robot))),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn changes_name_what_changed_and_cancel_needs_a_sync() {
        use crate::aggregate::Aggregate;
        let robot = Uuid::new_v4();
        let repo = repository();
        let repo = decide(&repo, &MirrorCommand::Create(config(robot)))
            .unwrap()
            .iter()
            .fold(repo, |r, e| r.evolve(e));
        let same = MirrorPatch {
            sync_interval_s: Some(3600),
            ..MirrorPatch::default()
        };
        assert!(
            decide(&repo, &MirrorCommand::Change(same))
                .unwrap()
                .is_empty()
        );
        let patch = MirrorPatch {
            is_enabled: Some(false),
            sync_interval_s: Some(60),
            ..MirrorPatch::default()
        };
        let events = decide(&repo, &MirrorCommand::Change(patch)).unwrap();
        assert!(matches!(
            events[0],
            DomainEvent::RepositoryMirrorDisabled { .. }
        ));
        assert!(matches!(
            &events[1],
            DomainEvent::RepositoryMirrorChanged { changed, .. } if changed == &["sync_interval"]
        ));
        assert!(decide(&repo, &MirrorCommand::Cancel).is_err());
        let repo = decide(&repo, &MirrorCommand::SyncNow)
            .unwrap()
            .iter()
            .fold(repo, |r, e| r.evolve(e));
        assert_eq!(repo.mirror.as_ref().unwrap().status, SyncStatus::SyncNow);
        assert_eq!(decide(&repo, &MirrorCommand::Cancel).unwrap().len(), 1);
    }

    #[test]
    fn references_need_a_host_and_a_path() {
        assert!(check_reference("127.0.0.1:5000/library/alpine").is_ok());
        assert!(check_reference("quay.io/coreos/etcd").is_ok());
        assert!(check_reference("alpine").is_err());
        assert!(check_reference("https://quay.io/x").is_err());
        assert!(check_reference("quay.io/").is_err());
        assert!(check_reference("quay.io/UPPER").is_err());
    }
}
