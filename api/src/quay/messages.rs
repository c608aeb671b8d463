//! Global messages: anyone reads them; superusers post and delete them.

use annals_domain::message::MessageCommand;
use annals_projections::queries::messages;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::QuayError;
use super::extract::QuayJson;
use super::guard::{MaybeCaller, Super};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub uuid: Uuid,
    pub content: String,
    /// `info`, `warning` or `error`.
    pub severity: String,
    /// `text/markdown` or `text/plain`.
    pub media_type: String,
}

/// `{messages: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Messages {
    pub messages: Vec<Message>,
}

/// Return the registry's global messages.
#[utoipa::path(get, path = "/api/v1/messages", operation_id = "getGlobalMessages", tag = "globalmessages",
    responses((status = 200, description = "`{messages: [...]}`", body = Messages)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: MaybeCaller,
) -> Result<Json<Messages>, QuayError> {
    let found = messages::list(state.db().as_ref()).await?;
    Ok(Json(Messages {
        messages: found
            .into_iter()
            .map(|m| Message {
                uuid: m.id,
                content: m.content,
                severity: m.severity,
                media_type: m.media_type,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MessageInput {
    #[schema(max_length = 10000)]
    pub content: String,
    #[serde(default = "plain")]
    #[schema(pattern = "^(text/markdown|text/plain)$")]
    pub media_type: String,
    #[schema(pattern = "^(info|warning|error)$")]
    pub severity: String,
}

fn plain() -> String {
    "text/plain".into()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewMessage {
    pub message: MessageInput,
}

/// Create a message (superusers only).
#[utoipa::path(post, path = "/api/v1/messages", operation_id = "createGlobalMessage", tag = "globalmessages",
    request_body = NewMessage,
    responses((status = 201, description = "Created", body = String, content_type = "application/json", example = json!("Created")),
        (status = 400, description = "Invalid content, severity or media type")))]
pub async fn create(
    State(state): State<AppState>,
    Super(ctx): Super,
    QuayJson(body): QuayJson<NewMessage>,
) -> Result<(StatusCode, Json<&'static str>), QuayError> {
    let command = MessageCommand::Create {
        message_id: ctx.envelope.derived_id("message"),
        content: body.message.content,
        severity: body.message.severity,
        media_type: body.message.media_type,
    };
    let done = state
        .commands
        .message_command(&ctx.envelope, command)
        .await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json("Created")))
}

/// Delete a message (superusers only).
#[utoipa::path(delete, path = "/api/v1/message/{uuid}", operation_id = "deleteGlobalMessage", tag = "globalmessages",
    params(("uuid" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path(uuid): Path<String>,
) -> Result<StatusCode, QuayError> {
    let message_id =
        Uuid::parse_str(&uuid).map_err(|_| QuayError::not_found(format!("No message {uuid}")))?;
    let done = state
        .commands
        .message_command(&ctx.envelope, MessageCommand::Delete { message_id })
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}
