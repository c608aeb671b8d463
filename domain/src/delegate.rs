//! Who a permission is granted to: a user, a robot or a team, by id (names change meaning when
//! an account is deleted and its name taken again; ids never do) with the name for display.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DelegateKind {
    User,
    Robot,
    Team,
}

impl DelegateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DelegateKind::User => "user",
            DelegateKind::Robot => "robot",
            DelegateKind::Team => "team",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Delegate {
    pub kind: DelegateKind,
    pub id: Uuid,
    pub name: String,
}
