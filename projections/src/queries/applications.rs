//! OAuth applications of organizations.

use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb, Row};

#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationView {
    pub client_id: String,
    pub org_id: Uuid,
    pub org_name: String,
    pub name: String,
    pub description: String,
    pub application_uri: String,
    pub redirect_uri: String,
    pub avatar_email: Option<String>,
    pub secret_sha256: String,
}

fn application(row: &Row) -> DbResult<ApplicationView> {
    Ok(ApplicationView {
        client_id: row.string("client_id")?,
        org_id: parse_uuid(row.str("org_id")?)?,
        org_name: row.string("org_name")?,
        name: row.string("name")?,
        description: row.string("description")?,
        application_uri: row.string("application_uri")?,
        redirect_uri: row.string("redirect_uri")?,
        avatar_email: row.opt_str("avatar_email")?.map(str::to_owned),
        secret_sha256: row.string("secret_sha256")?,
    })
}

const APPLICATIONS: &str =
    "SELECT a.client_id, a.org_id, n.name AS org_name, a.name, a.description,
        a.application_uri, a.redirect_uri, a.avatar_email, a.secret_sha256
     FROM applications a JOIN namespaces n ON n.id = a.org_id AND n.deleted = 0";

/// The organization's applications, by client id.
pub async fn list(db: &dyn ReadDb, org_id: Uuid) -> DbResult<Vec<ApplicationView>> {
    let sql = format!("{APPLICATIONS} WHERE a.org_id = $1 ORDER BY a.client_id LIMIT 1000");
    db.query(&sql, params![org_id])
        .await?
        .iter()
        .map(application)
        .collect()
}

/// The application `client_id` of a live organization.
pub async fn get(db: &dyn ReadDb, client_id: &str) -> DbResult<Option<ApplicationView>> {
    let sql = format!("{APPLICATIONS} WHERE a.client_id = $1");
    db.query(&sql, params![client_id])
        .await?
        .first()
        .map(application)
        .transpose()
}

/// An app-specific token of a user (never its code).
#[derive(Debug, Clone, PartialEq)]
pub struct AppTokenView {
    pub token_id: Uuid,
    pub title: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

fn app_token(row: &Row) -> DbResult<AppTokenView> {
    Ok(AppTokenView {
        token_id: parse_uuid(row.str("token_id")?)?,
        title: row.string("title")?,
        created_at: row.i64("created_at")?,
        expires_at: row.opt_i64("expires_at")?,
    })
}

/// The user's app-specific tokens, newest first; with `expiring_before`, only those that
/// expire before it.
pub async fn app_tokens(
    db: &dyn ReadDb,
    user_id: Uuid,
    expiring_before: Option<i64>,
) -> DbResult<Vec<AppTokenView>> {
    db.query(
        "SELECT token_id, title, created_at, expires_at FROM credentials
         WHERE kind = 'app' AND principal_id = $1
           AND (CAST($2 AS BIGINT) IS NULL OR (expires_at IS NOT NULL AND expires_at < $2))
         ORDER BY created_at DESC, token_id LIMIT 1000",
        params![user_id, expiring_before],
    )
    .await?
    .iter()
    .map(app_token)
    .collect()
}

/// One app-specific token of the user.
pub async fn app_token_of(
    db: &dyn ReadDb,
    user_id: Uuid,
    token_id: Uuid,
) -> DbResult<Option<AppTokenView>> {
    db.query(
        "SELECT token_id, title, created_at, expires_at FROM credentials
         WHERE kind = 'app' AND principal_id = $1 AND token_id = $2",
        params![user_id, token_id],
    )
    .await?
    .first()
    .map(app_token)
    .transpose()
}
