//! The card's memory over the API: what a person agreed to, and a store's devices (a smart
//! mirror, a clerk's tablet) that record behaviour for it.

use serde::{Deserialize, Serialize};

/// `PUT /api/me/consent`: what was recorded, and for a caller without a session the visitor id
/// it now is (sent back as `X-Tandem-Visitor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentAnswer {
    /// `member` or `visitor`.
    pub subject: String,
    pub visitor: Option<String>,
    pub behaviour: bool,
    pub personalised: bool,
}

/// A store's device, as its owner sees it (never its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// `GET /api/store/{id}/devices`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devices {
    pub devices: Vec<Device>,
}

/// `POST /api/store/{id}/devices`: the new device and its key, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCreated {
    pub id: String,
    pub store_id: String,
    pub name: String,
    pub key: String,
}
