//! `annals serve`: open the stores, bring the read models to the head of the log, bootstrap the
//! first superuser, run the projection runner, serve HTTP until SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use annals_commands::CommandService;
use annals_projections::generation::Location;
use annals_projections::{ProjectionWatch, all_projectors, migrate_all};
use annals_workers::{ProjectionRunner, ReadModels};
use anyhow::Context;
use axum::Router;
use axum::http::HeaderName;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::ServeArgs;
use crate::state::AppState;
use crate::{
    backends, bootstrap, docr, events, gerrit, idempotency, ledger, listener, observe, oci, quay,
    secrets, spaceone,
};

/// The management APIs (Quay v1, DigitalOcean, ...).
/// The management APIs (Quay v1, DigitalOcean, ...) and the operator's routes.
pub fn app(state: AppState) -> Router {
    let keys = state.keys_in_flight.clone();
    let family = |name: &'static str, router: Router<AppState>| {
        router.layer(axum::middleware::from_fn_with_state(
            (state.metrics.clone(), name),
            observe::track,
        ))
    };
    let quay = quay::router()
        .layer(axum::middleware::from_fn_with_state(
            keys.clone(),
            idempotency::fingerprint::<quay::error::QuayError>,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.public_url.clone(),
            quay::error::render,
        ));
    let docr = docr::router().layer(axum::middleware::from_fn_with_state(
        keys.clone(),
        idempotency::fingerprint::<docr::error::DoError>,
    ));
    let spaceone = spaceone::router().layer(axum::middleware::from_fn_with_state(
        keys.clone(),
        idempotency::fingerprint::<spaceone::error::SpaceError>,
    ));
    // The event routes answer in Quay's error shape (see `events`).
    let events = events::router()
        .layer(axum::middleware::from_fn_with_state(
            keys,
            idempotency::fingerprint::<quay::error::QuayError>,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.public_url.clone(),
            quay::error::render,
        ));
    // The ledger's routes are public and read-only: no idempotency, no family error shape.
    let ledger = ledger::routes::router();
    let operator = Router::new()
        .route("/healthz", get(observe::healthz))
        .route("/readyz", get(observe::readyz))
        .route("/metrics", get(observe::metrics));
    let routes = family("quay", quay)
        .merge(family("digitalocean", docr))
        .merge(family("spaceone", spaceone))
        .merge(family("gerrit", gerrit::router()))
        .merge(family("ledger", ledger))
        .merge(family("events", events))
        .merge(operator);
    // A GET with `as_of` runs the same routes over past read models (`history`).
    let travel = axum::middleware::from_fn_with_state(
        (
            state.clone(),
            routes.clone(),
            crate::history::Listener::Management,
        ),
        crate::history::travel,
    );
    with_request_ids(routes.layer(travel)).with_state(state)
}

/// The OCI distribution API, on its own listener.
pub fn registry_app(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let routes = oci::router().layer(axum::middleware::from_fn_with_state(
        (metrics, "oci"),
        observe::track,
    ));
    let travel = axum::middleware::from_fn_with_state(
        (
            state.clone(),
            routes.clone(),
            crate::history::Listener::Registry,
        ),
        crate::history::travel,
    );
    with_request_ids(routes.layer(travel)).with_state(state)
}

/// Gives every request an `x-request-id` (the client's when sane), logs the request in a span
/// that carries it, and answers it back.
fn with_request_ids(router: Router<AppState>) -> Router<AppState> {
    let header = HeaderName::from_static(observe::REQUEST_ID);
    router
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    uri = %req.uri().path(),
                    request_id = observe::request_id(req.headers()).unwrap_or_default(),
                )
            }),
        )
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
        .layer(axum::middleware::from_fn(observe::sane_request_id))
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    serve_until(args, shutdown_signal()).await
}

/// Serves until `shutdown` resolves, then drains requests and stops the workers.
pub async fn serve_until(
    args: ServeArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let backends = backends::open(&args.storage).await?;
    let store = backends.store;
    let projectors = all_projectors();
    let watch_ = ProjectionWatch::default();
    let runner = Arc::new(ProjectionRunner::new(
        store.clone(),
        projectors.clone(),
        watch_.clone(),
    ));

    let generation = backends.location.current().await?;
    let db = backends.location.open(generation).await?;
    migrate_all(db.as_ref(), &projectors).await?;
    let start = runner.position(db.as_ref()).await?;
    let head = store.head().await?;
    if head > start {
        tracing::info!("projecting events {start}..{head} before serving");
    }
    let reached = runner.catch_up(db.as_ref(), None, |_| {}).await?;
    watch_.advance(reached);
    let models = ReadModels::new(generation, db);

    let metrics = observe::Metrics::default();
    let commands = CommandService::new(store.clone())
        .with_facts(Arc::new(annals_workers::facts::ReadModelFacts {
            models: models.clone(),
            watch: watch_.clone(),
        }))
        .with_append_observer({
            let metrics = metrics.clone();
            Arc::new(move |took, events| metrics.observe_append(took, events))
        });
    if let Some(created) = bootstrap::bootstrap(
        &commands,
        args.bootstrap_user.as_deref(),
        args.bootstrap_token.as_deref(),
    )
    .await?
    {
        match &created.generated_token {
            _ if args.quiet => {}
            Some(token) => println!(
                "created superuser {:?}; its API token (shown only this once): {token}",
                created.username
            ),
            None => println!(
                "created superuser {:?} with the configured token",
                created.username
            ),
        }
        // Project the new user before serving, so its token works on the first request.
        watch_.advance(runner.catch_up(models.db().as_ref(), None, |_| {}).await?);
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let runner_task = {
        let (runner, models, stop) = (runner.clone(), models.clone(), stop_rx.clone());
        tokio::spawn(async move { runner.run(&models, stop).await })
    };
    let swap_task = tokio::spawn(follow_generations(
        backends.location.clone(),
        runner.clone(),
        models.clone(),
        stop_rx.clone(),
    ));

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let local = listener.local_addr()?;
    let registry_listener = TcpListener::bind(args.registry_listen)
        .await
        .with_context(|| format!("binding the registry to {}", args.registry_listen))?;
    let registry_local = registry_listener.local_addr()?;
    let grpc_listener = TcpListener::bind(args.grpc_listen)
        .await
        .with_context(|| format!("binding the gRPC listener to {}", args.grpc_listen))?;
    let grpc_local = grpc_listener.local_addr()?;
    let blobs = annals_store::blobs::BlobStore::open(args.storage.data_dir.join("blobs"))
        .with_context(|| {
            format!(
                "opening the blob store under {}",
                args.storage.data_dir.display()
            )
        })?;
    let token_key =
        secrets::token_signing_key(&args.storage.data_dir, args.token_signing_key.as_deref())?;
    let ledger_db = ledger::open_db(&args.storage).await?;
    let ledger_signer = ledger::signer(&args.storage.data_dir, &args.ledger)?;
    let delivery_db = events::open_db(&args.storage).await?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let state = AppState {
        commands,
        store,
        live: models.clone(),
        models,
        history: crate::history::HistorySettings::new(
            args.as_of_max_events as usize,
            backends.location.clone(),
        ),
        watch: watch_,
        consistency_wait: Duration::from_millis(args.consistency_wait_ms),
        public_url: public_url.into(),
        discovery: quay::discovery::document(),
        blobs,
        max_blob_bytes: args.max_blob_bytes,
        upload_limits: annals_store::blobs::SessionLimits {
            per_repository: args.upload_sessions_per_repository as usize,
            per_caller: args.upload_sessions_per_caller as usize,
        },
        registry_host: args
            .registry_host
            .clone()
            .unwrap_or_else(|| registry_local.to_string())
            .into(),
        gc_wake: Arc::new(tokio::sync::Notify::new()),
        log_export_wake: Arc::new(tokio::sync::Notify::new()),
        keys_in_flight: Default::default(),
        refusals: Default::default(),
        access_cache: Default::default(),
        metrics,
        ready_max_lag: args.ready_max_lag,
        token_key: token_key.into(),
        gerrit: Arc::new(gerrit::Settings::from_args(&args)?),
        ledger: ledger::LedgerState {
            db: ledger_db.clone(),
            verifier_key: ledger_signer.verifier_key().into(),
            key: ledger_signer.public(),
            jobs: Default::default(),
        },
        events: events::EventsState {
            delivery: delivery_db.clone(),
            source_prefix: args.events.events_source.clone().into(),
            keepalive: Duration::from_secs(args.events.events_keepalive_s),
            max_stream: Duration::from_secs(args.events.events_max_stream_s),
        },
        notification_blocked_hosts: args.notifications.blocked_hosts().into(),
        upstream: Arc::new(args.upstream.settings(args.max_blob_bytes)),
        proxy_fetches: Arc::default(),
    };
    // The auto-prune worker keeps its checkpoint beside the delivery workers'.
    let autoprune_task = tokio::spawn(
        annals_workers::autoprune::AutopruneWorker {
            commands: state.commands.clone(),
            store: state.store.clone(),
            models: state.models.clone(),
            watch: state.watch.clone(),
            db: delivery_db.clone(),
            interval: Duration::from_secs(args.autoprune_interval_s),
        }
        .run(stop_rx.clone()),
    );
    let webhooks_task = {
        let e = &args.events;
        let worker = Arc::new(annals_workers::webhooks::WebhookWorker {
            store: state.store.clone(),
            models: state.models.clone(),
            watch: state.watch.clone(),
            commands: state.commands.clone(),
            db: delivery_db.clone(),
            settings: annals_workers::webhooks::WebhookSettings {
                timeout: Duration::from_secs(e.webhook_timeout_s),
                max_failures: e.webhook_max_failures as u32,
                backoff: Duration::from_millis(e.webhook_backoff_ms),
                max_backoff: Duration::from_secs(e.webhook_max_backoff_s),
                poll: Duration::from_secs(1),
                source_prefix: e.events_source.clone(),
            },
        });
        tokio::spawn(worker.run(stop_rx.clone()))
    };
    // Repository notifications.
    let notifications_task = {
        let n = &args.notifications;
        let worker = annals_workers::notifications::NotificationWorker {
            store: state.store.clone(),
            models: state.models.clone(),
            watch: state.watch.clone(),
            commands: state.commands.clone(),
            db: delivery_db.clone(),
            mail: args
                .smtp_url
                .as_deref()
                .map(|url| {
                    annals_workers::log_export::Mailer::new(
                        url,
                        &args.smtp_from,
                        Duration::from_secs(n.notification_timeout_s),
                    )
                })
                .transpose()?,
            settings: annals_workers::notifications::NotificationSettings {
                timeout: Duration::from_secs(n.notification_timeout_s),
                backoff: Duration::from_millis(n.notification_backoff_ms),
                max_backoff: Duration::from_secs(n.notification_max_backoff_s),
                blocked_hosts: n.blocked_hosts(),
                registry_host: state.registry_host.to_string(),
                public_url: state.public_url.to_string(),
            },
        };
        tokio::spawn(worker.run(stop_rx.clone()))
    };
    // Repository mirrors: syncs from their upstream registries.
    let mirror_task = tokio::spawn(
        annals_workers::mirror::MirrorWorker {
            commands: state.commands.clone(),
            watch: state.watch.clone(),
            blobs: state.blobs.clone(),
            models: state.models.clone(),
            db: delivery_db.clone(),
            settings: state.upstream.as_ref().clone(),
            poll: Duration::from_secs(args.upstream.mirror_poll_s),
        }
        .run(stop_rx.clone()),
    );
    let nats_task = args.events.nats_url.clone().map(|url| {
        let e = &args.events;
        let relay = annals_workers::nats_relay::NatsRelay {
            store: state.store.clone(),
            db: delivery_db,
            settings: annals_workers::nats_relay::NatsSettings {
                url,
                stream: e.nats_stream.clone(),
                subject_prefix: e.nats_subject_prefix.clone(),
                source_prefix: e.events_source.clone(),
                ack_timeout: Duration::from_secs(10),
            },
        };
        let stop = stop_rx.clone();
        tokio::spawn(async move { relay.run(stop).await })
    });
    let ledger_task = {
        let worker = annals_workers::ledger::LedgerWorker::new(
            state.store.clone(),
            ledger_db,
            ledger_signer,
        );
        let stop = stop_rx.clone();
        tokio::spawn(async move { worker.run(stop).await })
    };
    let gc_task = tokio::spawn(annals_workers::gc::run(
        annals_workers::gc::GcWorker {
            commands: state.commands.clone(),
            store: state.store.clone(),
            models: state.models.clone(),
            watch: state.watch.clone(),
            blobs: state.blobs.clone(),
            wake: state.gc_wake.clone(),
        },
        stop_rx.clone(),
    ));
    let log_export_task = tokio::spawn(annals_workers::log_export::run(
        annals_workers::log_export::LogExportWorker {
            commands: state.commands.clone(),
            store: state.store.clone(),
            models: state.models.clone(),
            watch: state.watch.clone(),
            blobs: state.blobs.clone(),
            shape: Arc::new(quay::exported_logs::QuayExportShape {
                public_url: state.public_url.clone(),
                key: state.token_key.clone(),
            }),
            settings: annals_workers::log_export::ExportSettings {
                url_ttl: Duration::from_secs(args.log_export_url_ttl_s),
                callback_timeout: Duration::from_secs(args.log_export_callback_timeout_s),
                max_duration: Duration::from_secs(args.log_export_timeout_s),
                mail: args
                    .smtp_url
                    .as_deref()
                    .map(|url| {
                        annals_workers::log_export::Mailer::new(
                            url,
                            &args.smtp_from,
                            Duration::from_secs(args.log_export_callback_timeout_s),
                        )
                    })
                    .transpose()?,
                ..Default::default()
            },
            wake: state.log_export_wake.clone(),
        },
        stop_rx.clone(),
    ));
    {
        let blobs = state.blobs.clone();
        tokio::spawn(async move {
            if let Err(e) = blobs.recount().await {
                tracing::warn!("counting the stored blobs: {e}");
            }
        });
    }
    let uploads_task = tokio::spawn(annals_workers::uploads::run(
        state.blobs.clone(),
        args.upload_ttl,
        stop_rx.clone(),
    ));
    if !args.quiet {
        println!("listening on http://{local}");
        println!("grpc listening on http://{grpc_local}");
        println!("registry listening on http://{registry_local}");
    }
    let stopping = {
        let stop_tx = stop_tx.clone();
        async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        }
    };
    tokio::spawn(stopping);
    let open_files = listener::raise_open_file_limit();
    let limits = listener::Limits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout_s),
        body_idle_timeout: Duration::from_secs(args.body_idle_timeout_s),
        max_connections: args.max_connections.map_or_else(
            || listener::default_max_connections(open_files),
            |n| n as usize,
        ),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_s),
    };
    tokio::join!(
        spaceone::grpc::serve(
            grpc_listener,
            limits.max_connections,
            state.clone(),
            stop_rx.clone()
        ),
        listener::serve(
            listener,
            listener::app(app(state.clone()), &limits),
            limits,
            stop_rx.clone(),
        ),
        listener::serve(
            registry_listener,
            listener::app(registry_app(state), &limits),
            limits,
            stop_rx.clone(),
        ),
    );
    let _ = stop_tx.send(true);
    let _ = runner_task.await;
    let _ = swap_task.await;
    let _ = gc_task.await;
    let _ = uploads_task.await;
    let _ = log_export_task.await;
    let _ = ledger_task.await;
    let _ = webhooks_task.await;
    let _ = notifications_task.await;
    let _ = mirror_task.await;
    let _ = autoprune_task.await;
    if let Some(task) = nats_task {
        let _ = task.await;
    }
    Ok(())
}

/// Swaps in a generation that `annals replay` promoted while this server runs: opens it, brings
/// it to the head, and points queries and the runner at it.
async fn follow_generations(
    location: Location,
    runner: Arc<ProjectionRunner>,
    models: ReadModels,
    mut stop: watch::Receiver<bool>,
) {
    let projectors = all_projectors();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.changed() => return,
        }
        let promoted = match location.current().await {
            Ok(g) if g != models.generation() => g,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!("reading the read-model generation: {e}");
                continue;
            }
        };
        let swap = async {
            let db = location.open(promoted).await?;
            migrate_all(db.as_ref(), &projectors).await?;
            runner.catch_up(db.as_ref(), None, |_| {}).await?;
            models.swap(promoted, db);
            anyhow::Ok(())
        };
        match swap.await {
            Ok(()) => tracing::info!("now serving read-model generation {promoted}"),
            Err(e) => tracing::warn!("switching to read-model generation {promoted}: {e:#}"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
