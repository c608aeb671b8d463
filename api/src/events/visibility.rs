//! Which namespaces' events a caller sees: a superuser (acting with `super:user`) sees every
//! event; anyone else the events of the namespaces whose logs it may read
//! (`Need::ReadEvents`: their administrators), never an event of no namespace. Decisions are
//! kept per connection for [`REFRESH`], so a long stream reads each standing once in a while,
//! and a revoked role is in force within that time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use annals_domain::access::{Need, allows};
use annals_projections::sql::DbError;
use uuid::Uuid;

use crate::access::{Caller, standing};
use crate::state::AppState;

/// How long a decision is kept.
pub const REFRESH: Duration = Duration::from_secs(30);
/// The most decisions kept at once.
const MAX_KEPT: usize = 4096;

pub struct Visibility {
    state: AppState,
    caller: Caller,
    decided: HashMap<Uuid, bool>,
    since: Instant,
}

impl Visibility {
    pub fn new(state: AppState, caller: Caller) -> Self {
        Visibility {
            state,
            caller,
            decided: HashMap::new(),
            since: Instant::now(),
        }
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Whether the caller may see an event of `namespace_id` (None: of no namespace).
    pub async fn may_see(&mut self, namespace_id: Option<Uuid>) -> Result<bool, DbError> {
        if self.caller.acts_as_super_user() {
            return Ok(true);
        }
        let Some(id) = namespace_id else {
            return Ok(false);
        };
        if self.since.elapsed() > REFRESH || self.decided.len() >= MAX_KEPT {
            self.decided.clear();
            self.since = Instant::now();
        }
        if let Some(&seen) = self.decided.get(&id) {
            return Ok(seen);
        }
        let held = standing::namespace(&self.state, &self.caller, id).await?;
        let seen = allows(&self.caller.subject, &Need::ReadEvents(held));
        self.decided.insert(id, seen);
        Ok(seen)
    }
}
