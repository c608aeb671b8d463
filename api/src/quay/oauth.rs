//! `/oauth/authorize`: Quay's implicit OAuth grant. A user (by basic auth with its password,
//! or a bearer token with `user:admin`) authorizes an organization's application to act for it
//! with some of its scopes; the answer redirects to the application's redirect URI with the
//! new access token in the fragment, as Quay does:
//!
//! ```text
//! curl -s -o /dev/null -w '%{redirect_url}\n' -u alice:PASSWORD \
//!   'http://HOST/oauth/authorize?response_type=token&client_id=CLIENT_ID&scope=repo:read%20user:read&redirect_uri=http://localhost/cb'
//! # http://localhost/cb#access_token=...&token_type=Bearer&expires_in=31536000&scope=repo:read+user:read
//! ```

use annals_domain::access::{Need, Scopes, grantable_scopes};
use annals_domain::user::UserCommand;
use annals_projections::queries::applications;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::QuayError;
use super::extract::QuayQuery;
use crate::access::guard::{self, Attempt};
use crate::access::{Caller, refusals, resolve, tokens};
use crate::context;
use crate::state::AppState;

/// How long a minted access token lives.
pub const TOKEN_LIFETIME_S: i64 = 365 * 24 * 3600;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeParams {
    /// `token` (the implicit grant).
    pub response_type: String,
    pub client_id: String,
    /// Must start with the application's redirect URI; the application's when absent.
    pub redirect_uri: Option<String>,
    /// Space- or comma-separated scopes, each one the caller holds.
    pub scope: String,
    /// Echoed back in the redirect.
    pub state: Option<String>,
}

/// The caller: basic auth (password or app token) or a bearer token.
async fn caller(state: &AppState, parts: &mut Parts) -> Result<Caller, Response> {
    let challenge = || {
        let mut r = QuayError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Requires authentication: basic auth with your password, or a bearer token",
        )
        .into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"annals\""),
        );
        r
    };
    let Some(value) = parts.headers.get(header::AUTHORIZATION).cloned() else {
        return Err(challenge());
    };
    let value = value.to_str().map_err(|_| challenge())?;
    if let Some((user, secret)) = resolve::basic_pair(value) {
        if let Some(c) = resolve::basic(state, &user, &secret)
            .await
            .map_err(|e| QuayError::from(e).into_response())?
        {
            return Ok(c);
        }
        let envelope = context::anonymous_envelope(parts);
        refusals::login_failed_as(state, &envelope, &user, "oauth").await;
        return Err(challenge());
    }
    match resolve::request_caller(state, parts).await {
        Ok(Some(c)) => Ok(c),
        _ => Err(challenge()),
    }
}

/// Authorize an application to act for the caller (Quay's implicit grant).
#[utoipa::path(get, path = "/oauth/authorize", operation_id = "authorizeApplication", tag = "oauth",
    params(AuthorizeParams),
    responses((status = 302, description = "Redirect to `redirect_uri#access_token=...&token_type=Bearer&expires_in=...&scope=...`"),
        (status = 400, description = "Unknown application, unsupported response type or scope, or a foreign redirect URI")))]
pub async fn authorize(
    State(state): State<AppState>,
    mut parts: Parts,
    QuayQuery(params): QuayQuery<AuthorizeParams>,
) -> Response {
    match run(&state, &mut parts, params).await {
        Ok(r) | Err(r) => r,
    }
}

async fn run(
    state: &AppState,
    parts: &mut Parts,
    params: AuthorizeParams,
) -> Result<Response, Response> {
    let bad = |m: &str| QuayError::invalid_request(m).into_response();
    let caller = caller(state, parts).await?;
    if params.response_type != "token" {
        return Err(bad(
            "unsupported_response_type: only response_type=token is served",
        ));
    }
    let app = applications::get(state.db().as_ref(), &params.client_id)
        .await
        .map_err(|e| QuayError::from(e).into_response())?
        .ok_or_else(|| bad("Invalid client_id"))?;
    let redirect = params
        .redirect_uri
        .unwrap_or_else(|| app.redirect_uri.clone());
    if app.redirect_uri.is_empty() || !redirect.starts_with(&app.redirect_uri) {
        return Err(bad("The redirect_uri is not the application's"));
    }
    let asked = Scopes::parse_list(&params.scope).map_err(|e| bad(&e.to_string()))?;
    if asked == Scopes::NONE {
        return Err(bad("Ask for at least one scope"));
    }
    // Minting a token for an application is an account change.
    let action = format!("GET {}", parts.uri.path());
    guard::plain(
        state,
        parts,
        Some(&caller),
        Need::AdminSelf,
        Attempt::new(&action, &app.client_id),
    )
    .await
    .map_err(|d| QuayError::from(d).into_response())?;
    let granted =
        grantable_scopes(&caller.subject, asked).map_err(|d| QuayError::from(d).into_response())?;
    let token = tokens::oauth_secret();
    let envelope = context::envelope(&caller, parts);
    let expires_at = chrono::Utc::now() + chrono::TimeDelta::seconds(TOKEN_LIFETIME_S);
    let done = state
        .commands
        .change_user(
            &envelope,
            caller.user_id,
            UserCommand::IssueOAuthToken {
                token_id: envelope.derived_id("oauth"),
                client_id: app.client_id.clone(),
                scopes: granted.names(),
                token_sha256: resolve::token_digest(&token),
                expires_at: Some(expires_at),
            },
        )
        .await
        .map_err(|e| QuayError::from(e).into_response())?;
    state.settle(&done).await;
    let mut fragment = form_urlencoded::Serializer::new(String::new());
    fragment
        .append_pair("access_token", &token)
        .append_pair("token_type", "Bearer")
        .append_pair("expires_in", &TOKEN_LIFETIME_S.to_string())
        .append_pair("scope", &granted.to_list());
    if let Some(s) = &params.state {
        fragment.append_pair("state", s);
    }
    let location = format!("{redirect}#{}", fragment.finish());
    let location = HeaderValue::from_str(&location).map_err(|_| bad("Invalid redirect_uri"))?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}
