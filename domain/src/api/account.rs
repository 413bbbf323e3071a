//! Who the caller is, as `GET /api/me` answers it.

use serde::{Deserialize, Serialize};

use crate::access::Role;

/// The signed-in member: their id and masked phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRef {
    pub id: String,
    pub phone: String,
}

/// `GET /api/me`: the member and their roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub member: MemberRef,
    pub roles: Vec<Role>,
}
