//! The ledger's public routes on the management listener: no credentials, since an auditor
//! needs no account.
//!
//! - `GET /ledger/checkpoint`: the latest signed checkpoint (C2SP signed note, text/plain).
//! - `GET /ledger/tile/<L>/<N>[.p/<W>]`: hash tiles; `GET /ledger/tile/entries/<N>[.p/<W>]`:
//!   entry bundles (C2SP tlog-tiles; each entry is a 2-byte big-endian length and the event's
//!   canonical bytes, so an event over 65,535 canonical bytes cannot be bundled and its tile
//!   answers 404).
//! - `GET /ledger/proof/inclusion?index=N&tree_size=M`, `GET /ledger/proof/consistency?first=A&second=B`:
//!   JSON proofs, hashes in standard base64 (as in checkpoints), leaf side first (RFC 9162).
//!
//! Sizes beyond the latest signed checkpoint answer 404; malformed, negative or out-of-range
//! numbers 400.

use annals_domain::ledger::merkle::{self, Hash};
use annals_domain::ledger::tiles::{TILE_WIDTH, Tile};
use annals_store::EventFilter;
use annals_workers::ledger::{LedgerDb, leaf_bytes};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ledger/checkpoint", get(checkpoint))
        .route("/ledger/tile/{level}/{*index}", get(tile))
        .route("/ledger/proof/inclusion", get(inclusion))
        .route("/ledger/proof/consistency", get(consistency))
        .route("/ledger/verify", axum::routing::post(super::jobs::start))
        .route("/ledger/verify/{job_id}", get(super::jobs::follow))
}

/// A ledger route's error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerErrorBody {
    pub status: u16,
    pub error: String,
}

#[derive(Debug)]
pub struct LedgerError(StatusCode, String);

impl LedgerError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        LedgerError(status, message.into())
    }
    fn bad(message: impl Into<String>) -> Self {
        LedgerError(StatusCode::BAD_REQUEST, message.into())
    }
    fn not_found(message: impl Into<String>) -> Self {
        LedgerError(StatusCode::NOT_FOUND, message.into())
    }
}

impl<E: std::fmt::Display> From<E> for LedgerError {
    fn from(e: E) -> Self {
        tracing::error!("ledger route: {e}");
        LedgerError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the ledger could not be read".into(),
        )
    }
}

impl IntoResponse for LedgerError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(LedgerErrorBody {
                status: self.0.as_u16(),
                error: self.1,
            }),
        )
            .into_response()
    }
}

/// A decimal u64 from a query parameter: digits only.
fn number(name: &str, value: Option<&str>) -> Result<u64, LedgerError> {
    let value = value.ok_or_else(|| LedgerError::bad(format!("{name} is required")))?;
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LedgerError::bad(format!(
            "{name} must be a non-negative integer"
        )));
    }
    value
        .parse()
        .map_err(|_| LedgerError::bad(format!("{name} is out of range")))
}

fn b64(h: &Hash) -> String {
    B64.encode(h)
}

/// The size of the latest signed tree.
async fn signed_size(state: &AppState) -> Result<u64, LedgerError> {
    Ok(state.ledger.db.size().await?)
}

/// The latest signed checkpoint: a C2SP signed note over a tlog-checkpoint
/// (`<origin>\n<tree size>\n<base64 root>\n`), signed with Ed25519; verify it with the key
/// `annals ledger key` prints.
#[utoipa::path(get, path = "/ledger/checkpoint", operation_id = "ledgerCheckpoint", tag = "ledger", security(()),
    responses(
        (status = 200, description = "The signed checkpoint", content_type = "text/plain", body = String),
        (status = 404, description = "No checkpoint signed yet", body = LedgerErrorBody),
    ))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, LedgerError> {
    let latest = state
        .ledger
        .db
        .latest()
        .await?
        .ok_or_else(|| LedgerError::not_found("no checkpoint signed yet"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        latest.note,
    )
        .into_response())
}

/// A C2SP tlog-tiles tile: `<level>/<N>[.p/<W>]` (hash tiles, 32 bytes per hash) or
/// `entries/<N>[.p/<W>]` (each entry a 2-byte big-endian length and the event's canonical
/// bytes). `N` is written in 3-digit groups, all but the last prefixed with `x`
/// (`x001/x234/067`).
#[utoipa::path(get, path = "/ledger/tile/{level}/{index}", operation_id = "ledgerTile", tag = "ledger", security(()),
    params(
        ("level" = String, Path, description = "The tile level (0..63), or `entries`"),
        ("index" = String, Path, description = "The tile index in C2SP path form (`x001/x234/067`), with `.p/<W>` for a partial tile"),
    ),
    responses(
        (status = 200, description = "The tile's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "Not a tile path", body = LedgerErrorBody),
        (status = 404, description = "Beyond the signed tree", body = LedgerErrorBody),
    ))]
pub async fn tile(
    State(state): State<AppState>,
    Path((level, index)): Path<(String, String)>,
) -> Result<Response, LedgerError> {
    if level.len() + index.len() > 64 {
        return Err(LedgerError::bad("not a tile path"));
    }
    let tile = Tile::parse(&format!("{level}/{index}"))
        .ok_or_else(|| LedgerError::bad("not a tile path"))?;
    let size = signed_size(&state).await?;
    if Tile::available(tile.level, tile.index, size) < tile.width {
        return Err(LedgerError::not_found(format!(
            "tile {} is not complete in the signed tree of {size} leaves",
            tile.path()
        )));
    }
    let bytes = match tile.hash_range() {
        Some((level, from, to)) => {
            let bytes = state.ledger.db.hash_range(level, from, to).await?;
            if bytes.len() as u64 != tile.width * 32 {
                return Err(LedgerError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the ledger's stored hashes are incomplete".into(),
                ));
            }
            bytes
        }
        None => entries(&state, tile).await?,
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}

async fn entries(state: &AppState, tile: Tile) -> Result<Vec<u8>, LedgerError> {
    let start = tile.index * TILE_WIDTH;
    let events = state
        .store
        .read_all(start, tile.width as usize, &EventFilter::default())
        .await?;
    let mut out = Vec::new();
    for (i, event) in events.iter().enumerate() {
        if event.position != start + i as u64 + 1 {
            return Err(LedgerError::not_found(format!(
                "the log has no event at position {}",
                start + i as u64 + 1
            )));
        }
        let bytes = leaf_bytes(event);
        let Ok(len) = u16::try_from(bytes.len()) else {
            return Err(LedgerError::not_found(format!(
                "entry {} has {} canonical bytes, more than a tile entry holds",
                event.position - 1,
                bytes.len()
            )));
        };
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    if events.len() as u64 != tile.width {
        return Err(LedgerError::not_found("the log is shorter than the tile"));
    }
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InclusionQuery {
    /// The leaf index (an event's position − 1).
    #[param(value_type = u64)]
    pub index: Option<String>,
    /// The size of the tree to prove inclusion in (at most the signed size).
    #[param(value_type = u64)]
    pub tree_size: Option<String>,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    /// Base64 of the leaf hash, SHA-256(0x00 ‖ the event's canonical bytes).
    pub leaf_hash: String,
    /// Base64 of the root of the tree of `tree_size` leaves.
    pub root_hash: String,
    /// Base64 hashes, leaf side first.
    pub hashes: Vec<String>,
}

/// The inclusion proof of a leaf in a tree of a given size (RFC 9162 §2.1.3).
#[utoipa::path(get, path = "/ledger/proof/inclusion", operation_id = "ledgerInclusionProof", tag = "ledger", security(()),
    params(InclusionQuery),
    responses(
        (status = 200, description = "The proof", body = InclusionProof),
        (status = 400, description = "Malformed or inconsistent numbers", body = LedgerErrorBody),
        (status = 404, description = "Beyond the signed tree", body = LedgerErrorBody),
    ))]
pub async fn inclusion(
    State(state): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<InclusionProof>, LedgerError> {
    let index = number("index", q.index.as_deref())?;
    let tree_size = number("tree_size", q.tree_size.as_deref())?;
    if index >= tree_size {
        return Err(LedgerError::bad("index must be below tree_size"));
    }
    let signed = signed_size(&state).await?;
    if tree_size > signed {
        return Err(LedgerError::not_found(format!(
            "tree_size {tree_size} is beyond the signed tree of {signed} leaves"
        )));
    }
    let (proof, root, leaf) = prove_inclusion(&state.ledger.db, index, tree_size).await?;
    Ok(Json(InclusionProof {
        index,
        tree_size,
        leaf_hash: b64(&leaf),
        root_hash: b64(&root),
        hashes: proof.iter().map(b64).collect(),
    }))
}

/// The inclusion proof of leaf `index` in the tree of `tree_size` leaves, that tree's root and
/// the leaf's hash, from the stored hashes.
pub async fn prove_inclusion(
    db: &LedgerDb,
    index: u64,
    tree_size: u64,
) -> Result<(Vec<Hash>, Hash, Hash), LedgerError> {
    Ok(db
        .over_stored(|get| {
            let proof = merkle::inclusion_proof(index, tree_size, get)?;
            let root = merkle::root_at(tree_size, get)?;
            let leaf = get((0, index)).ok_or(merkle::ProofError::Missing(0, index))?;
            Ok::<_, merkle::ProofError>((proof, root, leaf))
        })
        .await??)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ConsistencyQuery {
    /// The smaller tree size (at least 1).
    #[param(value_type = u64)]
    pub first: Option<String>,
    /// The larger tree size (at most the signed size).
    #[param(value_type = u64)]
    pub second: Option<String>,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    pub first: u64,
    pub second: u64,
    /// Base64 roots of both trees.
    pub first_root_hash: String,
    pub second_root_hash: String,
    /// Base64 hashes (empty when the sizes are equal).
    pub hashes: Vec<String>,
}

/// The proof that the tree of `first` leaves is a prefix of the tree of `second` leaves
/// (RFC 9162 §2.1.4).
#[utoipa::path(get, path = "/ledger/proof/consistency", operation_id = "ledgerConsistencyProof", tag = "ledger", security(()),
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof", body = ConsistencyProof),
        (status = 400, description = "Malformed or inconsistent numbers", body = LedgerErrorBody),
        (status = 404, description = "Beyond the signed tree", body = LedgerErrorBody),
    ))]
pub async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, LedgerError> {
    let first = number("first", q.first.as_deref())?;
    let second = number("second", q.second.as_deref())?;
    if first == 0 || first > second {
        return Err(LedgerError::bad("first must be between 1 and second"));
    }
    let signed = signed_size(&state).await?;
    if second > signed {
        return Err(LedgerError::not_found(format!(
            "second {second} is beyond the signed tree of {signed} leaves"
        )));
    }
    let (proof, first_root, second_root) = state
        .ledger
        .db
        .over_stored(|get| {
            Ok::<_, merkle::ProofError>((
                merkle::consistency_proof(first, second, get)?,
                merkle::root_at(first, get)?,
                merkle::root_at(second, get)?,
            ))
        })
        .await??;
    Ok(Json(ConsistencyProof {
        first,
        second,
        first_root_hash: b64(&first_root),
        second_root_hash: b64(&second_root),
        hashes: proof.iter().map(b64).collect(),
    }))
}
