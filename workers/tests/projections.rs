//! The projections and their queries against real SQLite and PostgreSQL read models: commands
//! append to a real event store, the runner projects, the queries answer; and a replay from
//! position 0 produces exactly the rows the live runner produced.

use std::sync::Arc;

use annals_commands::{
    CommandService, CreateOrganization, CreateRepository, CreateUser, Envelope, RepositoryRef,
    UpdateOrganization,
};
use annals_domain::Actor;
use annals_projections::dump::dump;
use annals_projections::generation::Location;
use annals_projections::queries::access::Viewer;
use annals_projections::queries::logs::{self, LogQuery, LogScope};
use annals_projections::queries::repositories::{self, ListFilter};
use annals_projections::queries::{namespaces, tokens};
use annals_projections::{ProjectionWatch, all_projectors, migrate_all};
use annals_store::postgres::PostgresEventStore;
use annals_store::sqlite::SqliteEventStore;
use annals_store::{EventStore, testing};
use annals_workers::ProjectionRunner;
use uuid::Uuid;

/// A fresh event store and read-model location on one backend.
struct Fixture {
    store: Arc<dyn EventStore>,
    location: Location,
    _dir: tempfile::TempDir,
    database: Option<String>,
}

impl Fixture {
    async fn new(postgres: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        if postgres {
            let (name, url) = testing::create_database("annals_w")
                .await
                .expect("test database");
            let store = Arc::new(PostgresEventStore::connect(&url).await.unwrap());
            Fixture {
                store,
                location: Location::Postgres { url },
                _dir: dir,
                database: Some(name),
            }
        } else {
            let store = Arc::new(
                SqliteEventStore::open(dir.path().join("events.db"))
                    .await
                    .unwrap(),
            );
            let location = Location::Embedded {
                dir: dir.path().join("readmodels"),
            };
            Fixture {
                store,
                location,
                _dir: dir,
                database: None,
            }
        }
    }

    async fn cleanup(self) {
        if let Some(name) = self.database {
            drop(self.store);
            testing::drop_database(&name)
                .await
                .expect("drop test database");
        }
    }
}

fn envelope(user: Uuid) -> Envelope {
    let mut e = Envelope::new(Actor::user(user, "alice"));
    e.client_ip = Some("10.0.0.7".into());
    e
}

/// Writes a small history through the commands, projecting after every command (as a server
/// would), and answers the user id.
async fn history(
    commands: &CommandService,
    runner: &ProjectionRunner,
    db: &dyn annals_projections::sql::ReadDb,
) -> Uuid {
    let system = Envelope::new(Actor::system());
    let create_user = CreateUser {
        username: "alice".into(),
        email: None,
        super_user: true,
        token: Some(("t".into(), "ab".repeat(32))),
        password_hash: None,
    };
    commands.create_user(&system, create_user).await.unwrap();
    runner.catch_up(db, None, |_| {}).await.unwrap();
    let alice = tokens::user_for_token(db, &"ab".repeat(32))
        .await
        .unwrap()
        .expect("token projected")
        .id;
    commands
        .create_organization(
            &envelope(alice),
            CreateOrganization {
                name: "acme".into(),
                email: None,
            },
        )
        .await
        .unwrap();
    commands
        .create_organization(
            &envelope(alice),
            CreateOrganization {
                name: "gone".into(),
                email: None,
            },
        )
        .await
        .unwrap();
    runner.catch_up(db, None, |_| {}).await.unwrap();
    for (ns, name) in [
        ("acme", "web"),
        ("acme", "api"),
        ("gone", "x"),
        ("alice", "own"),
    ] {
        let create = CreateRepository {
            namespace: ns.into(),
            name: name.into(),
            visibility: "public".into(),
            description: String::new(),
            kind: None,
        };
        commands
            .create_repository(&envelope(alice), create)
            .await
            .unwrap();
        runner.catch_up(db, None, |_| {}).await.unwrap();
    }
    let web = RepositoryRef::parse("acme/web").unwrap();
    commands
        .change_repository_description(&envelope(alice), &web, "hello".into())
        .await
        .unwrap();
    commands
        .change_repository_visibility(&envelope(alice), &web, "private")
        .await
        .unwrap();
    commands
        .change_repository_state(&envelope(alice), &web, "READ_ONLY")
        .await
        .unwrap();
    commands
        .delete_repository(&envelope(alice), &RepositoryRef::parse("acme/api").unwrap())
        .await
        .unwrap();
    commands
        .delete_organization(&envelope(alice), "gone")
        .await
        .unwrap();
    let update = UpdateOrganization {
        email: Some("ops@acme.io".into()),
        tag_expiration_s: Some(60),
        ..Default::default()
    };
    commands
        .update_organization(&envelope(alice), "acme", update)
        .await
        .unwrap();
    runner.catch_up(db, None, |_| {}).await.unwrap();
    alice
}

async fn projections_answer_queries(postgres: bool) {
    let fx = Fixture::new(postgres).await;
    let db = fx.location.open(1).await.unwrap();
    migrate_all(db.as_ref(), &all_projectors()).await.unwrap();
    let runner = ProjectionRunner::new(
        fx.store.clone(),
        all_projectors(),
        ProjectionWatch::default(),
    );
    let commands = CommandService::new(fx.store.clone());
    let alice = history(&commands, &runner, db.as_ref()).await;
    let db = db.as_ref();

    let acme = namespaces::by_name(db, "acme").await.unwrap().unwrap();
    assert!(acme.is_organization());
    assert_eq!(
        (acme.email.as_deref(), acme.tag_expiration_s),
        (Some("ops@acme.io"), 60)
    );
    assert!(namespaces::by_name(db, "gone").await.unwrap().is_none());
    let web = repositories::get(db, "acme", "web").await.unwrap().unwrap();
    assert_eq!(
        (
            web.description.as_str(),
            web.visibility.as_str(),
            web.state.as_str()
        ),
        ("hello", "private", "READ_ONLY")
    );
    assert!(
        repositories::get(db, "acme", "api")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        repositories::get(db, "gone", "x").await.unwrap().is_none(),
        "deleting the org deleted its repos"
    );
    let (public, more) =
        repositories::list(db, &ListFilter::Public, Viewer::Anonymous, None, None, 10)
            .await
            .unwrap();
    assert_eq!(
        public
            .iter()
            .map(|r| format!("{}/{}", r.namespace, r.name))
            .collect::<Vec<_>>(),
        ["alice/own"]
    );
    assert!(!more);
    let (page, more) = repositories::list(
        db,
        &ListFilter::Namespace("acme".into()),
        Viewer::SuperUser,
        Some("image"),
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!((page.len(), more), (1, false));

    let query = |scope| LogQuery {
        scope,
        start_micros: 0,
        end_micros: i64::MAX,
        performer: None,
    };
    let org_log = logs::page(
        db,
        fx.store.as_ref(),
        &query(LogScope::Namespace(acme.id)),
        None,
        3,
    )
    .await
    .unwrap();
    let kinds: Vec<&str> = org_log.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "org_change_tag_expiration",
            "org_change_email",
            "delete_repo"
        ]
    );
    assert_eq!(
        org_log.entries[0].recorded.metadata["client_ip"],
        "10.0.0.7"
    );
    let rest = logs::page(
        db,
        fx.store.as_ref(),
        &query(LogScope::Namespace(acme.id)),
        org_log.next_before,
        100,
    )
    .await
    .unwrap();
    let kinds: Vec<&str> = rest.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "change_repo_state",
            "change_repo_visibility",
            "set_repo_description",
            "add_repo_permission",
            "create_repo",
            "add_repo_permission",
            "create_repo",
            "org_add_team_member",
            "org_create_team",
            "org_create"
        ]
    );
    assert_eq!(rest.next_before, None);
    let repo_log = logs::page(
        db,
        fx.store.as_ref(),
        &query(LogScope::Repository(web.id)),
        None,
        100,
    )
    .await
    .unwrap();
    // Its creation, the creator's admin permission and three changes.
    assert_eq!(repo_log.entries.len(), 5);
    let mine = logs::page(
        db,
        fx.store.as_ref(),
        &query(LogScope::User(alice)),
        None,
        100,
    )
    .await
    .unwrap();
    assert!(
        mine.entries.len() >= 13,
        "what alice did plus her namespace: {}",
        mine.entries.len()
    );
    let by_other = LogQuery {
        performer: Some("bob".into()),
        ..query(LogScope::Namespace(acme.id))
    };
    assert!(
        logs::page(db, fx.store.as_ref(), &by_other, None, 100)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    let counts = logs::aggregate(db, &query(LogScope::Namespace(acme.id)))
        .await
        .unwrap();
    let create_repo = counts.iter().find(|c| c.kind == "create_repo").unwrap();
    assert_eq!(create_repo.count, 2);
    // A window in the past holds nothing.
    let past = LogQuery {
        start_micros: 0,
        end_micros: 1_000_000,
        ..query(LogScope::Namespace(acme.id))
    };
    assert!(
        logs::page(db, fx.store.as_ref(), &past, None, 100)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    drop(runner);
    fx.cleanup().await;
}

/// Live (projected command by command) and replayed (from position 0, in pages) read models
/// hold exactly the same rows.
async fn replay_equals_live(postgres: bool) {
    let fx = Fixture::new(postgres).await;
    let live = fx.location.open(1).await.unwrap();
    migrate_all(live.as_ref(), &all_projectors()).await.unwrap();
    let runner = ProjectionRunner::new(
        fx.store.clone(),
        all_projectors(),
        ProjectionWatch::default(),
    );
    history(
        &CommandService::new(fx.store.clone()),
        &runner,
        live.as_ref(),
    )
    .await;

    let report =
        annals_workers::replay::replay(fx.store.clone(), &fx.location, all_projectors(), false)
            .await
            .unwrap();
    assert_eq!(report.generation, 2);
    assert_eq!(report.events, fx.store.head().await.unwrap());
    assert_eq!(fx.location.current().await.unwrap(), 2);
    let rebuilt = fx.location.open(2).await.unwrap();
    let (a, b) = (
        dump(live.as_ref(), &all_projectors()).await.unwrap(),
        dump(rebuilt.as_ref(), &all_projectors()).await.unwrap(),
    );
    assert!(a.iter().map(|(_, rows)| rows.len()).sum::<usize>() > 20);
    assert_eq!(a, b);
    // Checkpoints agree too.
    assert_eq!(
        runner.position(live.as_ref()).await.unwrap(),
        runner.position(rebuilt.as_ref()).await.unwrap()
    );
    drop((live, rebuilt, runner));
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_answer_queries_sqlite() {
    projections_answer_queries(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_answer_queries_postgres() {
    projections_answer_queries(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_equals_live_sqlite() {
    replay_equals_live(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_equals_live_postgres() {
    replay_equals_live(true).await
}
