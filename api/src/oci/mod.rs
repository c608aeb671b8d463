//! The OCI distribution API (`/v2/...`), served on the registry listener.

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
