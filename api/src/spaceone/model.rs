//! The family's messages as JSON: what REST clients send and receive, and what the gRPC layer
//! converts its protobuf messages to and from. Field names are the protobuf ones; the repository
//! API document's `service_type` and today's `resource_type` are both read and both answered.
//! Every field is optional on the way in, so a missing one is answered with SpaceONE's
//! `ERROR_REQUIRED_PARAMETER` naming it, not a parser's message.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `register`: a plugin for the image `<namespace>/<name>` of this registry, in the domain
/// `domain_id` (an organization).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RegisterPluginRequest {
    pub name: Option<String>,
    /// The repository API document's name for `resource_type`.
    pub service_type: Option<String>,
    pub resource_type: Option<String>,
    pub image: Option<String>,
    pub provider: Option<String>,
    /// `NONE_REGISTRY_TYPE`, `DOCKER_HUB`, `AWS_PRIVATE_ECR`, `HARBOR`, `GITHUB`,
    /// `GCP_PRIVATE_GCR` or `AWS_PUBLIC_ECR`.
    pub registry_type: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub registry_config: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub capability: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub template: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub docs: Option<Value>,
    #[schema(value_type = Option<Vec<serde_json::Value>>)]
    pub labels: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub tags: Option<Value>,
    pub project_id: Option<String>,
    /// A plugin id of the client's choosing (today's API); one is made when absent.
    pub plugin_id: Option<String>,
    pub domain_id: Option<String>,
}

/// `update`: the fields given replace the plugin's.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct UpdatePluginRequest {
    pub plugin_id: Option<String>,
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub capability: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub template: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub docs: Option<Value>,
    #[schema(value_type = Option<Vec<serde_json::Value>>)]
    pub labels: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub tags: Option<Value>,
    pub domain_id: Option<String>,
}

/// `deregister`, `enable`, `disable`, `get` and `get_versions`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PluginRequest {
    #[param(ignore)]
    pub plugin_id: Option<String>,
    pub domain_id: Option<String>,
    /// The repository the plugin is in: this registry's (`repo-annals`) or none.
    pub repository_id: Option<String>,
    /// Only these fields of the plugin, comma-separated in a query string.
    #[serde(default, deserialize_with = "list_or_csv")]
    #[param(value_type = Option<String>)]
    pub only: Option<Vec<String>>,
}

/// `list` (`search`): the fields filter exactly; `query` is SpaceONE's query (`filter`,
/// `filter_or`, `sort`, `page`, `only`, `keyword`, `count_only`, `minimal`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PluginQuery {
    #[param(value_type = Option<Object>)]
    #[schema(value_type = Option<Object>)]
    pub query: Option<Value>,
    pub plugin_id: Option<String>,
    pub name: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub state: Option<String>,
    pub service_type: Option<String>,
    pub resource_type: Option<String>,
    pub provider: Option<String>,
    pub registry_type: Option<String>,
    pub repository_id: Option<String>,
    pub domain_id: Option<String>,
}

/// `stat`: SpaceONE's statistics query over the domain's plugins.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PluginStatQuery {
    /// `filter`, `filter_or`, `aggregate` (stages `group` with `keys` and `fields` of operator
    /// `count`, `sum`, `min`, `max`, `avg`, `add_to_set`, `push`; `count`; `sort`; `limit`;
    /// `skip`), `distinct`, `page`.
    #[schema(value_type = Option<Object>)]
    pub query: Option<Value>,
    pub repository_id: Option<String>,
    pub domain_id: Option<String>,
}

/// Where a plugin's image is kept: always this registry.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct RepositoryInfo {
    pub repository_id: String,
    pub name: String,
    pub repository_type: String,
    pub endpoint: String,
}

/// A plugin.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PluginInfo {
    pub plugin_id: String,
    pub name: String,
    pub image: String,
    /// Where the image is pulled from: this registry's host.
    pub registry_url: String,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    pub service_type: String,
    /// The same as `service_type`, as today's releases name it.
    pub resource_type: String,
    pub provider: String,
    pub registry_type: String,
    #[schema(value_type = Object)]
    pub registry_config: Value,
    #[schema(value_type = Object)]
    pub capability: Value,
    #[schema(value_type = Object)]
    pub template: Value,
    #[schema(value_type = Object)]
    pub docs: Value,
    #[schema(value_type = Vec<serde_json::Value>)]
    pub labels: Value,
    #[schema(value_type = Object)]
    pub tags: Value,
    pub project_id: String,
    pub domain_id: String,
    pub repository_info: RepositoryInfo,
    /// ISO 8601, UTC.
    pub created_at: String,
    pub updated_at: String,
}

/// A list of plugins and how many match in all.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginsInfo {
    /// The matching plugins (each limited to `only` when asked).
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<Value>,
    pub total_count: i32,
}

/// A plugin's versions: its image's tags, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionsInfo {
    /// Deprecated: the same list as `results`.
    pub version: Vec<String>,
    pub total_count: i32,
    pub results: Vec<String>,
}

/// The answer of `stat` (a `google.protobuf.Struct`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatInfo {
    /// Aggregated rows, or the distinct values.
    pub results: Vec<Value>,
    /// For `distinct`: how many distinct values there are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<i32>,
}

/// `{}`: what `deregister` answers (`google.protobuf.Empty`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Empty {}

/// `only` as a JSON list or a comma-separated string (a query parameter).
fn list_or_csv<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Only {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match Option::<Only>::deserialize(d)? {
        None => None,
        Some(Only::List(l)) => Some(l),
        Some(Only::Csv(s)) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
    })
}
