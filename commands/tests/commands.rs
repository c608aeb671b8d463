//! The command service on real event stores: atomic appends, retries on conflict, uniqueness
//! through reservations, idempotency by command id, and the metadata every event carries.

use std::sync::Arc;

use annals_commands::{
    CommandError, CommandService, CreateOrganization, CreateRepository, CreateUser, Envelope,
    RepositoryRef,
};
use annals_domain::{Actor, DomainError};
use annals_store::postgres::PostgresEventStore;
use annals_store::sqlite::SqliteEventStore;
use annals_store::{EventFilter, EventStore, testing};
use uuid::Uuid;

/// Runs `body` on a fresh SQLite store and on a fresh PostgreSQL database.
async fn on_both<F, Fut>(body: F)
where
    F: Fn(Arc<dyn EventStore>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    body(Arc::new(
        SqliteEventStore::open(dir.path().join("events.db"))
            .await
            .unwrap(),
    ))
    .await;

    let (name, url) = testing::create_database("annals_c")
        .await
        .expect("test database");
    body(Arc::new(PostgresEventStore::connect(&url).await.unwrap())).await;
    testing::drop_database(&name)
        .await
        .expect("drop test database");
}

fn alice() -> Envelope {
    let mut e = Envelope::new(Actor::user(Uuid::from_u128(1), "alice"));
    e.client_ip = Some("192.0.2.1".into());
    e.user_agent = Some("test-agent".into());
    e
}

async fn setup(commands: &CommandService) {
    let user = CreateUser {
        username: "alice".into(),
        email: None,
        super_user: false,
        token: Some(("t".into(), "cd".repeat(32))),
        password_hash: None,
    };
    commands
        .create_user(&Envelope::new(Actor::system()), user)
        .await
        .unwrap();
    commands
        .create_organization(
            &alice(),
            CreateOrganization {
                name: "acme".into(),
                email: None,
            },
        )
        .await
        .unwrap();
}

fn repo(name: &str) -> CreateRepository {
    CreateRepository {
        namespace: "acme".into(),
        name: name.into(),
        visibility: "private".into(),
        description: String::new(),
        kind: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_name_let_exactly_one_win() {
    on_both(|store| async move {
        let commands = CommandService::new(store.clone());
        setup(&commands).await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let commands = commands.clone();
            tasks.push(tokio::spawn(async move {
                commands
                    .create_repository(&alice(), repo("contested"))
                    .await
            }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(CommandError::Domain(DomainError::AlreadyExists(_))) => {}
                Err(other) => panic!("unexpected: {other}"),
            }
        }
        assert_eq!(won, 1);
        let created = store
            .read_all(
                0,
                1000,
                &EventFilter {
                    stream_prefixes: vec![],
                    event_types: vec!["repository.created.v1".into()],
                },
            )
            .await
            .unwrap();
        assert_eq!(created.len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_to_one_repository_are_retried_not_lost() {
    on_both(|store| async move {
        let commands = CommandService::new(store.clone());
        setup(&commands).await;
        commands
            .create_repository(&alice(), repo("busy"))
            .await
            .unwrap();
        let target = RepositoryRef::parse("acme/busy").unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (commands, target) = (commands.clone(), target.clone());
            tasks.push(tokio::spawn(async move {
                commands
                    .change_repository_description(&alice(), &target, format!("writer {i}"))
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(
                task.await.unwrap().unwrap().events,
                1,
                "each change appended after retrying conflicts"
            );
        }
        let changes = store
            .read_all(
                0,
                1000,
                &EventFilter {
                    stream_prefixes: vec![],
                    event_types: vec!["repository.description_changed.v1".into()],
                },
            )
            .await
            .unwrap();
        assert_eq!(changes.len(), 8);
        // Version 0 is the creation, 1 the creator's admin permission.
        let versions: Vec<u64> = changes.iter().map(|e| e.version).collect();
        assert_eq!(versions, (2..=9).collect::<Vec<_>>());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_id_appends_once_and_answers_its_first_result() {
    on_both(|store| async move {
        let commands = CommandService::new(store.clone());
        setup(&commands).await;
        let envelope = alice().with_command_id(Uuid::now_v7());
        let first = commands
            .create_repository(&envelope, repo("once"))
            .await
            .unwrap();
        assert!(!first.duplicate);
        let head = store.head().await.unwrap();
        let again = commands
            .create_repository(&envelope, repo("once"))
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(
            (again.position, again.events),
            (first.position, first.events)
        );
        assert_eq!(store.head().await.unwrap(), head);
        // A new command id for the same name is refused by the reservation.
        let refused = commands.create_repository(&alice(), repo("once")).await;
        assert!(matches!(
            refused,
            Err(CommandError::Domain(DomainError::AlreadyExists(_)))
        ));
        assert_eq!(store.head().await.unwrap(), head);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_carry_the_envelope_and_scope_and_refusals_append_nothing() {
    on_both(|store| async move {
        let commands = CommandService::new(store.clone());
        setup(&commands).await;
        let mut envelope = alice();
        envelope.correlation_id = Uuid::from_u128(42);
        let done = commands
            .create_repository(&envelope, repo("tagged"))
            .await
            .unwrap();
        // The creation, then the creator's admin permission (the last event).
        let events = store
            .read_positions(&[done.position - 1, done.position])
            .await
            .unwrap();
        let meta = &events[0].metadata;
        assert_eq!(events[0].event_type, "repository.created.v1");
        assert_eq!(events[1].event_type, "repository.permission_set.v1");
        assert_eq!(events[1].metadata["actor"], meta["actor"]);
        assert_eq!(meta["actor"]["name"], "alice");
        assert_eq!(meta["actor"]["kind"], "user");
        assert_eq!(meta["client_ip"], "192.0.2.1");
        assert_eq!(meta["user_agent"], "test-agent");
        assert_eq!(meta["command_id"], envelope.command_id.to_string());
        assert_eq!(meta["correlation_id"], Uuid::from_u128(42).to_string());
        assert_eq!(meta["namespace"], "acme");
        assert_eq!(meta["namespace_kind"], "organization");
        assert_eq!(meta["repository"], "tagged");
        assert!(meta["repository_id"].is_string() && meta["namespace_id"].is_string());

        let head = store.head().await.unwrap();
        for bad in [
            CreateRepository {
                name: "Bad".into(),
                ..repo("x")
            },
            CreateRepository {
                visibility: "nope".into(),
                ..repo("x")
            },
            CreateRepository {
                namespace: "nobody".into(),
                ..repo("x")
            },
            CreateRepository {
                description: "x".repeat(70_000),
                ..repo("x")
            },
        ] {
            assert!(matches!(
                commands.create_repository(&alice(), bad).await,
                Err(CommandError::Domain(_))
            ));
        }
        assert!(
            commands
                .delete_organization(&alice(), "nobody")
                .await
                .is_err()
        );
        assert_eq!(
            store.head().await.unwrap(),
            head,
            "refused commands appended nothing"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cached_states_catch_up_with_writes_of_other_services() {
    on_both(|store| async move {
        // Two services over one store, as two server processes are: each caches what it loads.
        let first = CommandService::new(store.clone());
        let second = CommandService::new(store.clone());
        setup(&first).await;
        first
            .create_repository(&alice(), repo("shared"))
            .await
            .unwrap();
        let target = RepositoryRef::parse("acme/shared").unwrap();
        first
            .change_repository_description(&alice(), &target, "first".into())
            .await
            .unwrap();
        second
            .change_repository_description(&alice(), &target, "second".into())
            .await
            .unwrap();
        // `first` holds the repository at an older version: it reads on from there, no conflict.
        let done = first
            .change_repository_description(&alice(), &target, "first again".into())
            .await
            .unwrap();
        assert_eq!(done.events, 1);
        second.delete_repository(&alice(), &target).await.unwrap();
        assert!(matches!(
            first
                .change_repository_description(&alice(), &target, "gone".into())
                .await,
            Err(CommandError::Domain(DomainError::NotFound(_)))
        ));
        let versions: Vec<u64> = store
            .read_all(
                0,
                1000,
                &EventFilter {
                    stream_prefixes: vec![],
                    event_types: vec!["repository.description_changed.v1".into()],
                },
            )
            .await
            .unwrap()
            .iter()
            .map(|e| e.version)
            .collect();
        assert_eq!(versions, vec![2, 3, 4]);
    })
    .await;
}
