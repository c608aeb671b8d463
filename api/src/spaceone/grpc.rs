//! `spaceone.api.repository.v1.Plugin` over gRPC, on its own listener, with server
//! reflection (`grpc.reflection.v1` and `v1alpha`). A call is authenticated by a `token`
//! metadata entry holding an Annals token (as SpaceONE's clients send it) or an
//! `authorization: Bearer` one; `x_domain_id` (or `domain_id`) names the domain where the
//! message has no field for it. Each method converts its message and calls the same operation
//! as the REST routes.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request as HttpRequest, header};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use super::convert;
use super::error::SpaceError;
use super::proto::repository::{self as pb, plugin_server};
use super::service::{self, Call, Switch};
use crate::access::{Caller, resolve};
use crate::context;
use crate::state::AppState;

/// The largest message a call may send.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Calls in flight on one connection, at most.
const CALLS_PER_CONNECTION: usize = 64;
/// The longest metadata value read (a token, a domain).
const MAX_METADATA_CHARS: usize = 4096;

pub struct PluginService {
    state: AppState,
}

/// What a call carries besides its message.
struct Context {
    parts: Parts,
    caller: Caller,
    domain: Option<String>,
}

fn metadata<T>(request: &Request<T>, name: &str) -> Option<String> {
    request
        .metadata()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_METADATA_CHARS)
        .map(str::to_owned)
}

impl PluginService {
    /// The caller of a call, and the request parts the checks and the envelope read.
    async fn context<T>(&self, request: &Request<T>, method: &str) -> Result<Context, Status> {
        let token = metadata(request, "token").or_else(|| {
            metadata(request, "authorization").and_then(|a| {
                a.split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, t)| t.trim().to_owned())
            })
        });
        let mut headers = HeaderMap::new();
        if let Some(agent) =
            metadata(request, "user-agent").and_then(|a| HeaderValue::from_str(&a).ok())
        {
            headers.insert(header::USER_AGENT, agent);
        }
        if let Some(id) =
            metadata(request, "x-request-id").and_then(|a| HeaderValue::from_str(&a).ok())
        {
            headers.insert("x-request-id", id);
        }
        let token = token.ok_or_else(|| SpaceError::unauthenticated("token is required"))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| SpaceError::unauthenticated("token is invalid"))?;
        let mut parts = HttpRequest::post(format!("/spaceone.api.repository.v1.Plugin/{method}"))
            .body(())
            .map_err(SpaceError::internal)?
            .into_parts()
            .0;
        if let Some(addr) = request.remote_addr() {
            parts.extensions.insert(ConnectInfo::<SocketAddr>(addr));
        }
        let mut with_token = headers.clone();
        with_token.insert(header::AUTHORIZATION, bearer);
        let caller = resolve::bearer(&self.state, &with_token)
            .await
            .map_err(SpaceError::from)?
            .ok_or_else(|| SpaceError::unauthenticated("token is required"))?;
        parts.headers = headers;
        let domain = metadata(request, "x_domain_id").or_else(|| metadata(request, "domain_id"));
        Ok(Context {
            parts,
            caller,
            domain,
        })
    }
}

impl Context {
    fn call<'a>(&'a self, state: &'a AppState) -> Call<'a> {
        Call {
            state,
            parts: &self.parts,
            caller: &self.caller,
            envelope: context::envelope(&self.caller, &self.parts),
            domain: self.domain.clone(),
        }
    }
}

fn answered(
    info: Option<super::model::PluginInfo>,
    plugin_id: &str,
) -> Result<pb::PluginInfo, Status> {
    info.map(|i| convert::plugin_info_of(&i))
        .ok_or_else(|| SpaceError::not_found("plugin_id", plugin_id).into())
}

#[tonic::async_trait]
impl plugin_server::Plugin for PluginService {
    async fn register(
        &self,
        request: Request<pb::RegisterPluginRequest>,
    ) -> Result<Response<pb::PluginInfo>, Status> {
        let ctx = self.context(&request, "register").await?;
        let req = convert::register(request.into_inner(), ctx.domain.clone());
        let info = service::register(&ctx.call(&self.state), req).await?;
        Ok(Response::new(convert::plugin_info_of(&info)))
    }

    async fn update(
        &self,
        request: Request<pb::UpdatePluginRequest>,
    ) -> Result<Response<pb::PluginInfo>, Status> {
        let ctx = self.context(&request, "update").await?;
        let req = convert::update(request.into_inner(), ctx.domain.clone());
        let info = service::update(&ctx.call(&self.state), req).await?;
        Ok(Response::new(convert::plugin_info_of(&info)))
    }

    async fn deregister(
        &self,
        request: Request<pb::PluginRequest>,
    ) -> Result<Response<()>, Status> {
        let ctx = self.context(&request, "deregister").await?;
        let r = request.into_inner();
        let req = convert::plugin_request(r.plugin_id, String::new(), ctx.domain.clone());
        service::switch(&ctx.call(&self.state), req, Switch::Deregister).await?;
        Ok(Response::new(()))
    }

    async fn enable(
        &self,
        request: Request<pb::PluginRequest>,
    ) -> Result<Response<pb::PluginInfo>, Status> {
        let ctx = self.context(&request, "enable").await?;
        let id = request.into_inner().plugin_id;
        let req = convert::plugin_request(id.clone(), String::new(), ctx.domain.clone());
        let info = service::switch(&ctx.call(&self.state), req, Switch::Enable).await?;
        answered(info, &id).map(Response::new)
    }

    async fn disable(
        &self,
        request: Request<pb::PluginRequest>,
    ) -> Result<Response<pb::PluginInfo>, Status> {
        let ctx = self.context(&request, "disable").await?;
        let id = request.into_inner().plugin_id;
        let req = convert::plugin_request(id.clone(), String::new(), ctx.domain.clone());
        let info = service::switch(&ctx.call(&self.state), req, Switch::Disable).await?;
        answered(info, &id).map(Response::new)
    }

    async fn get_versions(
        &self,
        request: Request<pb::RepositoryPluginRequest>,
    ) -> Result<Response<pb::VersionsInfo>, Status> {
        let ctx = self.context(&request, "get_versions").await?;
        let r = request.into_inner();
        let req = convert::plugin_request(r.plugin_id, r.repository_id, ctx.domain.clone());
        let v = service::versions(&ctx.call(&self.state), req).await?;
        Ok(Response::new(pb::VersionsInfo {
            version: v.version,
            total_count: v.total_count,
            results: v.results,
        }))
    }

    async fn get(
        &self,
        request: Request<pb::RepositoryPluginRequest>,
    ) -> Result<Response<pb::PluginInfo>, Status> {
        let ctx = self.context(&request, "get").await?;
        let r = request.into_inner();
        let req = convert::plugin_request(r.plugin_id, r.repository_id, ctx.domain.clone());
        let doc = service::get(&ctx.call(&self.state), req).await?;
        Ok(Response::new(convert::plugin_info(&doc)))
    }

    async fn list(
        &self,
        request: Request<pb::PluginQuery>,
    ) -> Result<Response<pb::PluginsInfo>, Status> {
        let ctx = self.context(&request, "list").await?;
        let q = convert::plugin_query(request.into_inner(), ctx.domain.clone());
        let found = service::list(&ctx.call(&self.state), q).await?;
        Ok(Response::new(pb::PluginsInfo {
            results: found.results.iter().map(convert::plugin_info).collect(),
            total_count: found.total_count,
        }))
    }

    async fn stat(
        &self,
        request: Request<pb::PluginStatQuery>,
    ) -> Result<Response<prost_types::Struct>, Status> {
        let ctx = self.context(&request, "stat").await?;
        let r = request.into_inner();
        let q = super::model::PluginStatQuery {
            query: r.query.as_ref().map(convert::struct_to_json),
            repository_id: (!r.repository_id.is_empty()).then_some(r.repository_id),
            domain_id: ctx.domain.clone(),
        };
        let stat = service::stat(&ctx.call(&self.state), q).await?;
        let answer = serde_json::to_value(stat).unwrap_or_default();
        Ok(Response::new(convert::struct_from_json(&answer)))
    }
}

/// Serves the Plugin service and reflection on `listener`, at most `max_connections` open at
/// once, until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    max_connections: usize,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(super::proto::DESCRIPTORS)
    };
    let (v1, v1alpha) = match (reflection().build_v1(), reflection().build_v1alpha()) {
        (Ok(v1), Ok(v1alpha)) => (v1, v1alpha),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("gRPC reflection: {e}");
            return;
        }
    };
    let plugins = plugin_server::PluginServer::new(PluginService { state })
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let incoming = super::capped::incoming(listener, max_connections);
    let served = tonic::transport::Server::builder()
        .timeout(CALL_TIMEOUT)
        .concurrency_limit_per_connection(CALLS_PER_CONNECTION)
        .http2_keepalive_interval(Some(Duration::from_secs(60)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .add_service(plugins)
        .add_service(v1)
        .add_service(v1alpha)
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = served {
        tracing::error!("gRPC listener: {e}");
    }
}
