//! The Gerrit operations in the OpenAPI document: the handlers are annotated under
//! `/plugins/...`; [`AuthenticatedPaths`] adds each one's twin under `/a/plugins/...`, which
//! takes HTTP basic auth instead of the bearer token. Errors are plain text
//! ([`GerritErrorBody`]), added by the discovery document's error modifier.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};

/// A Gerrit error: a short plain-text message (`text/plain; charset=UTF-8`).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, example = "Not found")]
pub struct GerritErrorBody(#[allow(dead_code)] String);

/// The path prefixes of the Gerrit operations in the document.
pub const PATHS: [&str; 2] = ["/plugins/", "/a/plugins/"];

/// Whether `path` is a Gerrit operation's.
pub fn is_gerrit(path: &str) -> bool {
    PATHS.iter().any(|p| path.starts_with(p))
}

/// Adds the `/a/` twin of every `/plugins/` operation, under HTTP basic auth, and the `basic`
/// security scheme.
pub struct AuthenticatedPaths;

impl utoipa::Modify for AuthenticatedPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        let twins: Vec<_> = openapi
            .paths
            .paths
            .iter()
            .filter(|(path, _)| path.starts_with("/plugins/"))
            .map(|(path, item)| {
                let mut item = item.clone();
                for op in [
                    item.get.as_mut(),
                    item.put.as_mut(),
                    item.post.as_mut(),
                    item.delete.as_mut(),
                ]
                .into_iter()
                .flatten()
                {
                    op.operation_id = op.operation_id.take().map(|id| format!("{id}_authenticated"));
                    op.security = Some(vec![SecurityRequirement::new(
                        "basic",
                        Vec::<String>::new(),
                    )]);
                    if let Some(description) = op.description.as_mut() {
                        description.push_str("\n\nGerrit's authenticated path: HTTP basic auth (user name and an Annals token as the HTTP password).");
                    }
                }
                (format!("/a{path}"), item)
            })
            .collect();
        for (path, item) in twins {
            openapi.paths.paths.insert(path, item);
        }
    }
}
