//! Auto-prune policies (Quay's `autoprunepolicy`): rules that delete a repository's tags by
//! number (`number_of_tags`: keep the newest N matching tags) or by age (`creation_date`: delete
//! matching tags older than a duration such as `7d`). A namespace's policies apply to every
//! repository in it; a repository's only to it; both apply, as in Quay.
//!
//! The policies of one scope — a namespace or a repository — live on one stream,
//! `autoprune-<namespace or repository id>`, so duplicates and the limit are checked against
//! everything the scope holds. A tag the worker deletes is `repository.tag_autopruned.v1` on the
//! repository's stream, naming the policy (uuid, scope, method, value) that deleted it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::content::Content;
use crate::digest::Digest;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{NamespaceName, RepositoryName};
use crate::tag::TagName;

/// The most policies one namespace or repository may hold (Quay sets none; the worker reads
/// them all on every pass, so they are bounded).
pub const MAX_POLICIES: usize = 100;
/// The largest `number_of_tags`.
pub const MAX_TAGS_KEPT: u64 = 100_000;
/// The longest `creation_date`: a hundred years, in seconds.
pub const MAX_AGE_SECONDS: u64 = 100 * 365 * 86_400;
/// The longest `tagPattern`, in bytes.
pub const MAX_PATTERN_BYTES: usize = 512;
/// How large a compiled `tagPattern` may grow (the regex crate's size limit), so no pattern can
/// make matching expensive.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

pub fn stream(scope_id: Uuid) -> String {
    format!("autoprune-{scope_id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PruneMethod {
    NumberOfTags,
    CreationDate,
}

impl PruneMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PruneMethod::NumberOfTags => "number_of_tags",
            PruneMethod::CreationDate => "creation_date",
        }
    }
}

/// A policy's value as given: a count of tags, or a duration (`7d`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PolicyValue {
    Count(u64),
    Age(String),
}

impl PolicyValue {
    pub fn to_json(&self) -> Value {
        match self {
            PolicyValue::Count(n) => Value::from(*n),
            PolicyValue::Age(s) => Value::from(s.as_str()),
        }
    }
}

/// What a policy prunes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyConfig {
    pub method: PruneMethod,
    pub value: PolicyValue,
    /// A regular expression searched for in tag names; none: every tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_pattern: Option<String>,
    /// Prune the tags that match the pattern (true) or those that do not (false).
    pub tag_pattern_matches: bool,
}

/// Where a policy applies: a namespace, or one repository in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyScope {
    pub namespace_id: Uuid,
    pub namespace: NamespaceName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<RepositoryName>,
}

impl PolicyScope {
    /// The id whose stream holds the scope's policies.
    pub fn id(&self) -> Uuid {
        self.repository_id.unwrap_or(self.namespace_id)
    }

    fn noun(&self) -> &'static str {
        if self.repository_id.is_some() {
            "repository"
        } else {
            "namespace"
        }
    }
}

/// The policy that pruned a tag, as the tag's deletion records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunedBy {
    pub policy_uuid: Uuid,
    pub scope: PolicyScope,
    pub policy: PolicyConfig,
}

fn invalid(message: &str) -> DomainError {
    DomainError::InvalidArgument(message.to_owned())
}

/// Seconds in a Quay time delta (`<number><s|m|h|d|w|y>`, as Quay's `convert_to_timedelta`),
/// positive and at most [`MAX_AGE_SECONDS`].
pub fn parse_age(value: &str) -> Option<u64> {
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    let seconds = n.checked_mul(per)?;
    (seconds > 0 && seconds <= MAX_AGE_SECONDS).then_some(seconds)
}

/// Compiles a tag pattern within the size bounds.
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, DomainError> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(DomainError::InvalidArgument(format!(
            "tag_pattern is longer than {MAX_PATTERN_BYTES} bytes"
        )));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let why = e.to_string();
            let why: String = why
                .lines()
                .last()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            DomainError::InvalidArgument(format!("Invalid tag_pattern: {}", why.trim()))
        })
}

impl PolicyConfig {
    /// Checks a policy as a client sent it (JSON values, since Quay accepts a number or a
    /// string for `value` and checks the type per method). Messages are Quay's.
    pub fn parse(
        method: Option<&Value>,
        value: Option<&Value>,
        tag_pattern: Option<&Value>,
        tag_pattern_matches: Option<&Value>,
    ) -> Result<PolicyConfig, DomainError> {
        let (Some(method), Some(value)) = (
            method.filter(|v| !v.is_null()),
            value.filter(|v| !v.is_null()),
        ) else {
            return Err(invalid("Missing the following parameters: method, value"));
        };
        let method = match method.as_str() {
            Some("number_of_tags") => PruneMethod::NumberOfTags,
            Some("creation_date") => PruneMethod::CreationDate,
            _ => return Err(invalid("Invalid method provided")),
        };
        let bad_value = || invalid("Invalid value given for method type");
        let value = match method {
            PruneMethod::NumberOfTags => match value.as_u64() {
                Some(n) if (1..=MAX_TAGS_KEPT).contains(&n) => PolicyValue::Count(n),
                _ => return Err(bad_value()),
            },
            PruneMethod::CreationDate => match value.as_str() {
                Some(s) if parse_age(s).is_some() => PolicyValue::Age(s.to_owned()),
                _ => return Err(bad_value()),
            },
        };
        let tag_pattern = match tag_pattern.filter(|v| !v.is_null()) {
            None => None,
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    return Err(invalid("tag_pattern cannot be empty"));
                }
                compile_pattern(s)?;
                Some(s.to_owned())
            }
            Some(_) => return Err(invalid("tag_pattern must be string")),
        };
        let tag_pattern_matches = match tag_pattern_matches.filter(|v| !v.is_null()) {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("tag_pattern_matches must be bool")),
        };
        Ok(PolicyConfig {
            method,
            value,
            tag_pattern,
            tag_pattern_matches,
        })
    }

    /// The age in seconds of a `creation_date` policy.
    pub fn age_seconds(&self) -> Option<u64> {
        match (&self.method, &self.value) {
            (PruneMethod::CreationDate, PolicyValue::Age(s)) => parse_age(s),
            _ => None,
        }
    }

    /// How many tags a `number_of_tags` policy keeps.
    pub fn keep(&self) -> Option<u64> {
        match (&self.method, &self.value) {
            (PruneMethod::NumberOfTags, PolicyValue::Count(n)) => Some(*n),
            _ => None,
        }
    }

    /// The tag filter of this policy: which tag names it may prune.
    pub fn selector(&self) -> TagSelector {
        TagSelector {
            // Stored patterns were checked when the policy was made.
            pattern: self
                .tag_pattern
                .as_deref()
                .and_then(|p| compile_pattern(p).ok()),
            matches: self.tag_pattern_matches,
        }
    }
}

/// Which tag names a policy applies to.
#[derive(Debug, Clone)]
pub struct TagSelector {
    pattern: Option<regex::Regex>,
    matches: bool,
}

impl TagSelector {
    /// Quay searches the pattern anywhere in the name (PostgreSQL's `~`, Python's `re.search`).
    pub fn applies_to(&self, tag: &str) -> bool {
        match &self.pattern {
            None => true,
            Some(re) => re.is_match(tag) == self.matches,
        }
    }
}

/// A tag that is live now, as the worker plans a pass over a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTag {
    pub name: String,
    pub digest: String,
    /// When the tag began pointing at its manifest, microseconds since the epoch.
    pub since_micros: i64,
    /// The position of the event that began it: names this version of the tag.
    pub version: u64,
}

/// The tags `policies` prune among `tags` at `now_micros`, each with the policy that prunes it,
/// in Quay's order: every `creation_date` policy first, then every `number_of_tags` policy over
/// the tags left.
pub fn plan_prunes<'a>(
    policies: &'a [(Uuid, PolicyConfig)],
    tags: &[LiveTag],
    now_micros: i64,
) -> Vec<(LiveTag, &'a Uuid, &'a PolicyConfig)> {
    let mut live: Vec<LiveTag> = tags.to_vec();
    // Newest first; the later version first among equal times.
    live.sort_by(|a, b| {
        b.since_micros
            .cmp(&a.since_micros)
            .then(b.version.cmp(&a.version))
    });
    let mut out = Vec::new();
    for (uuid, policy) in policies {
        let Some(age) = policy.age_seconds() else {
            continue;
        };
        let selector = policy.selector();
        let cutoff = now_micros.saturating_sub((age as i64).saturating_mul(1_000_000));
        let (gone, kept): (Vec<LiveTag>, Vec<LiveTag>) = live
            .into_iter()
            .partition(|t| t.since_micros < cutoff && selector.applies_to(&t.name));
        out.extend(gone.into_iter().map(|t| (t, uuid, policy)));
        live = kept;
    }
    for (uuid, policy) in policies {
        let Some(keep) = policy.keep() else {
            continue;
        };
        let selector = policy.selector();
        let mut seen = 0u64;
        let mut kept = Vec::with_capacity(live.len());
        for t in live {
            if selector.applies_to(&t.name) {
                seen += 1;
                if seen > keep {
                    out.push((t, uuid, policy));
                    continue;
                }
            }
            kept.push(t);
        }
        live = kept;
    }
    out
}

/// The policies of one scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoprunePolicies {
    pub scope: Option<PolicyScope>,
    pub policies: BTreeMap<Uuid, PolicyConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AutopruneCommand {
    Create {
        policy_uuid: Uuid,
        scope: PolicyScope,
        policy: PolicyConfig,
    },
    Update {
        policy_uuid: Uuid,
        policy: PolicyConfig,
    },
    Delete {
        policy_uuid: Uuid,
    },
}

impl Aggregate for AutoprunePolicies {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        match event {
            DomainEvent::AutoprunePolicyCreated {
                policy_uuid,
                scope,
                policy,
            } => {
                self.scope = Some(scope.clone());
                self.policies.insert(*policy_uuid, policy.clone());
            }
            DomainEvent::AutoprunePolicyUpdated {
                policy_uuid,
                policy,
                ..
            } => {
                self.policies.insert(*policy_uuid, policy.clone());
            }
            DomainEvent::AutoprunePolicyDeleted { policy_uuid, .. } => {
                self.policies.remove(policy_uuid);
            }
            _ => {}
        }
        self
    }
}

/// Whether two policies are the same for Quay's duplicate check.
fn same(a: &PolicyConfig, b: &PolicyConfig) -> bool {
    a == b
}

pub fn decide(
    state: &AutoprunePolicies,
    command: &AutopruneCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    let not_found = |uuid: &Uuid| DomainError::NotFound(format!("Policy not found: {uuid}"));
    Ok(match command {
        AutopruneCommand::Create {
            policy_uuid,
            scope,
            policy,
        } => {
            if state.policies.contains_key(policy_uuid) {
                return Ok(vec![]);
            }
            if state.policies.values().any(|p| same(p, policy)) {
                return Err(DomainError::AlreadyExists(format!(
                    "Existing policy with same values for this {}, duplicate policies are not permitted",
                    scope.noun()
                )));
            }
            if state.policies.len() >= MAX_POLICIES {
                return Err(DomainError::InvalidArgument(format!(
                    "A {} may have at most {MAX_POLICIES} auto-prune policies",
                    scope.noun()
                )));
            }
            vec![DomainEvent::AutoprunePolicyCreated {
                policy_uuid: *policy_uuid,
                scope: scope.clone(),
                policy: policy.clone(),
            }]
        }
        AutopruneCommand::Update {
            policy_uuid,
            policy,
        } => {
            let scope = state.scope.clone().ok_or_else(|| not_found(policy_uuid))?;
            if !state.policies.contains_key(policy_uuid) {
                return Err(not_found(policy_uuid));
            }
            vec![DomainEvent::AutoprunePolicyUpdated {
                policy_uuid: *policy_uuid,
                scope,
                policy: policy.clone(),
            }]
        }
        AutopruneCommand::Delete { policy_uuid } => {
            let scope = state.scope.clone().ok_or_else(|| not_found(policy_uuid))?;
            if !state.policies.contains_key(policy_uuid) {
                return Err(not_found(policy_uuid));
            }
            vec![DomainEvent::AutoprunePolicyDeleted {
                policy_uuid: *policy_uuid,
                scope,
            }]
        }
    })
}

/// The deletion of `tag` by the policy `by`, if the tag still points at `digest` (the version
/// the worker planned for); otherwise nothing — it moved or is gone, and a later pass decides
/// again. So a retried prune never deletes a newer version of the tag.
pub fn decide_prune(
    repository_id: Uuid,
    content: &Content,
    tag: &TagName,
    digest: &Digest,
    by: &PrunedBy,
) -> Vec<DomainEvent> {
    if content.current(tag) != Some(digest) {
        return vec![];
    }
    vec![DomainEvent::TagAutopruned {
        repository_id,
        tag: tag.clone(),
        digest: digest.clone(),
        pruned_by: by.clone(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<PolicyConfig, DomainError> {
        PolicyConfig::parse(
            body.get("method"),
            body.get("value"),
            body.get("tagPattern"),
            body.get("tagPatternMatches"),
        )
    }

    #[test]
    fn values_are_checked_per_method() {
        assert!(parse(json!({"method": "number_of_tags", "value": 3})).is_ok());
        assert!(parse(json!({"method": "creation_date", "value": "2w"})).is_ok());
        for bad in [
            json!({"method": "number_of_tags", "value": 0}),
            json!({"method": "number_of_tags", "value": -1}),
            json!({"method": "number_of_tags", "value": "3"}),
            json!({"method": "number_of_tags", "value": 3.5}),
            json!({"method": "number_of_tags", "value": true}),
            json!({"method": "number_of_tags", "value": MAX_TAGS_KEPT + 1}),
            json!({"method": "creation_date", "value": "7x"}),
            json!({"method": "creation_date", "value": "-1d"}),
            json!({"method": "creation_date", "value": "0d"}),
            json!({"method": "creation_date", "value": "d"}),
            json!({"method": "creation_date", "value": "99999999999y"}),
            json!({"method": "creation_date", "value": 7}),
            json!({"method": "sometimes", "value": 7}),
            json!({"method": "number_of_tags"}),
            json!({"method": "number_of_tags", "value": 3, "tagPattern": ""}),
            json!({"method": "number_of_tags", "value": 3, "tagPattern": "(unclosed"}),
            json!({"method": "number_of_tags", "value": 3, "tagPattern": 5}),
            json!({"method": "number_of_tags", "value": 3, "tagPatternMatches": "yes"}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        assert!(compile_pattern("a{1000}{1000}").is_err());
        assert_eq!(parse_age("12h"), Some(43_200));
        assert_eq!(parse_age("1y"), Some(365 * 86_400));
    }

    fn tag(name: &str, since: i64) -> LiveTag {
        LiveTag {
            name: name.into(),
            digest: format!("sha256:{name}"),
            since_micros: since,
            version: since as u64,
        }
    }

    #[test]
    fn number_of_tags_keeps_the_newest_matching() {
        let keep2 =
            parse(json!({"method": "number_of_tags", "value": 2, "tagPattern": "^v"})).unwrap();
        let policies = vec![(Uuid::nil(), keep2)];
        let tags = vec![
            tag("v1", 1),
            tag("v2", 2),
            tag("v3", 3),
            tag("latest", 0),
            tag("dev", 4),
        ];
        let pruned: Vec<String> = plan_prunes(&policies, &tags, 10)
            .into_iter()
            .map(|(t, ..)| t.name)
            .collect();
        assert_eq!(pruned, vec!["v1"]);
    }

    #[test]
    fn creation_date_runs_first_and_respects_non_matching() {
        let old = parse(json!({"method": "creation_date", "value": "1s",
            "tagPattern": "keep", "tagPatternMatches": false}))
        .unwrap();
        let keep1 = parse(json!({"method": "number_of_tags", "value": 1})).unwrap();
        let policies = vec![(Uuid::from_u128(1), keep1), (Uuid::from_u128(2), old)];
        let now = 10_000_000;
        let tags = vec![tag("a", 1), tag("keep-me", 2), tag("b", 9_500_000)];
        let pruned: Vec<(String, Uuid)> = plan_prunes(&policies, &tags, now)
            .into_iter()
            .map(|(t, u, _)| (t.name, *u))
            .collect();
        // `a` is older than 1s and does not match `keep`; then only `b` and `keep-me` are
        // left, and the newest (`b`) is kept.
        assert_eq!(
            pruned,
            vec![
                ("a".into(), Uuid::from_u128(2)),
                ("keep-me".into(), Uuid::from_u128(1))
            ]
        );
    }

    #[test]
    fn duplicates_are_refused_and_unknown_policies_not_found() {
        let scope = PolicyScope {
            namespace_id: Uuid::from_u128(7),
            namespace: NamespaceName::parse("acme").unwrap(),
            repository_id: None,
            repository: None,
        };
        let policy = parse(json!({"method": "number_of_tags", "value": 3})).unwrap();
        let create = |id| AutopruneCommand::Create {
            policy_uuid: Uuid::from_u128(id),
            scope: scope.clone(),
            policy: policy.clone(),
        };
        let state = AutoprunePolicies::default();
        let events = decide(&state, &create(1)).unwrap();
        let state = AutoprunePolicies::from_history(&events);
        assert!(matches!(
            decide(&state, &create(2)),
            Err(DomainError::AlreadyExists(_))
        ));
        assert!(matches!(
            decide(
                &state,
                &AutopruneCommand::Delete {
                    policy_uuid: Uuid::from_u128(9)
                }
            ),
            Err(DomainError::NotFound(_))
        ));
    }
}
