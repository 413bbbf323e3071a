//! Who the caller is, as `GET /api/me` answers it.

use serde::{Deserialize, Serialize};

use crate::access::Role;

/// The signed-in member: their id and masked phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberRef {
    pub id: String,
    pub phone: String,
}

/// `GET /api/me`: the member and their roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Me {
    pub member: MemberRef,
    pub roles: Vec<Role>,
}

/// `POST /api/auth/code`: send a sign-in code to this phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    pub phone: String,
}

/// `POST /api/auth/session`: sign in with the phone and the code it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub phone: String,
    pub code: String,
}

/// `POST /api/auth/code`: a code was sent, good for this many seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CodeSent {
    pub sent: bool,
    pub expires_in_s: i64,
}

/// `POST /api/auth/session`: the member signed in (the session is in its cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SignedIn {
    pub member: MemberRef,
}

/// `DELETE /api/auth/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SignedOut {
    pub signed_out: bool,
}
