//! Synthetic but realistic events for the benchmark: one organization with many repositories,
//! created and then edited, each event with the metadata a real command writes.

use annals_domain::{
    DomainEvent, NamespaceKind, NamespaceName, RepositoryKind, RepositoryName, Visibility, codec,
};
use annals_store::ExpectedVersion;
use annals_store::{AppendBatch, EventStore, NewEvent, StreamAppend};
use serde_json::json;
use uuid::Uuid;

/// The organization every benchmark event belongs to.
pub fn org_id() -> Uuid {
    Uuid::from_u128(0xA11A_0000_0000_0000_0000_0000_0000_0001)
}

fn event(event: &DomainEvent, repository: Option<(Uuid, &str)>) -> NewEvent {
    let (event_type, data) = codec::encode(event);
    let mut metadata = json!({
        "actor": {"kind": "user", "name": "bench", "id": Uuid::from_u128(7)},
        "client_ip": "127.0.0.1",
        "user_agent": "annals-bench",
        "command_id": Uuid::now_v7(),
        "namespace_id": org_id(),
        "namespace": "bench",
        "namespace_kind": "organization",
    });
    if let Some((id, name)) = repository {
        metadata["repository_id"] = json!(id);
        metadata["repository"] = json!(name);
    }
    NewEvent {
        id: Uuid::now_v7(),
        event_type: event_type.into(),
        data,
        metadata,
    }
}

pub fn organization_created() -> StreamAppend {
    let created = DomainEvent::OrganizationCreated {
        organization_id: org_id(),
        name: NamespaceName::parse("bench").expect("valid name"),
        email: None,
    };
    StreamAppend {
        stream: annals_domain::organization::stream(org_id()),
        expected: ExpectedVersion::Any,
        events: vec![event(&created, None)],
    }
}

/// `count` events on repository number `n`: its creation, then description changes.
pub fn repository_events(n: u64, count: usize) -> StreamAppend {
    let id = Uuid::from_u128(0xB000_0000_0000_0000_0000_0000_0000_0000 | n as u128);
    let name = format!("repo-{n}");
    let mut events = Vec::with_capacity(count);
    for i in 0..count {
        let e = if i == 0 {
            DomainEvent::RepositoryCreated {
                repository_id: id,
                namespace_id: org_id(),
                namespace_kind: NamespaceKind::Organization,
                namespace: NamespaceName::parse("bench").expect("valid name"),
                name: RepositoryName::parse(&name).expect("valid name"),
                visibility: Visibility::Private,
                description: String::new(),
                kind: RepositoryKind::Image,
            }
        } else {
            DomainEvent::RepositoryDescriptionChanged {
                repository_id: id,
                description: format!("revision {i}"),
            }
        };
        events.push(event(&e, Some((id, &name))));
    }
    StreamAppend {
        stream: annals_domain::repository::stream(id),
        expected: ExpectedVersion::Any,
        events,
    }
}

/// Events per repository stream in a synthetic log.
const PER_REPOSITORY: usize = 10;
/// Events per append while filling a log.
const FILL_BATCH: usize = 1000;

/// Fills an empty store with a log of `events` events: the organization, then repositories of
/// [`PER_REPOSITORY`] events each, [`FILL_BATCH`] events an append.
pub async fn fill(store: &dyn EventStore, events: u64) -> anyhow::Result<()> {
    store
        .append_batch(AppendBatch {
            command_id: None,
            appends: vec![organization_created()],
        })
        .await?;
    let mut written = 1u64;
    let mut repo = 0u64;
    while written < events {
        let mut appends = Vec::new();
        let mut in_batch = 0;
        while in_batch < FILL_BATCH && written + (in_batch as u64) < events {
            let n = PER_REPOSITORY.min((events - written) as usize - in_batch);
            appends.push(repository_events(repo, n));
            repo += 1;
            in_batch += n;
        }
        store
            .append_batch(AppendBatch {
                command_id: None,
                appends,
            })
            .await?;
        written += in_batch as u64;
    }
    Ok(())
}
