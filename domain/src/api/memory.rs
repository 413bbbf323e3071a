//! The card's memory over the API: what a person agreed to, behaviour events, a store's devices
//! (a smart mirror, a clerk's tablet) that record behaviour for it, and a clerk's notes of a
//! conversation.

use serde::{Deserialize, Serialize};

use crate::behaviour::{Event, RawEvent};
use crate::profile::{Consent, Profile};
use crate::time::Timestamp;

/// `PUT /api/me/consent`: what was recorded, and for a caller without a session the visitor id
/// it now is (sent back as `X-Tandem-Visitor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConsentAnswer {
    /// `member` or `visitor`.
    pub subject: String,
    pub visitor: Option<String>,
    pub behaviour: bool,
    pub personalised: bool,
}

/// A store's device, as its owner sees it (never its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Device {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// `GET /api/store/{id}/devices`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Devices {
    pub devices: Vec<Device>,
}

/// `POST /api/store/{id}/devices`: the new device and its key, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceCreated {
    pub id: String,
    pub store_id: String,
    pub name: String,
    pub key: String,
}

/// `PUT /api/me/consent`: what the person agrees to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub behaviour: bool,
    pub personalised: bool,
}

/// `POST /api/events`: a batch of behaviour events, the caller's own, or for clerks and devices
/// a customer's, named by phone or by their card's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EventsRequest {
    pub events: Vec<RawEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<String>,
}

/// `POST /api/store/{id}/devices`: a device's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    pub name: String,
}

/// `POST /api/store/{id}/conversations`: a clerk's notes of a conversation, and optionally the
/// names the follow-up uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clerk_name: Option<String>,
}

/// `DELETE /api/me/profile/tags/{tag}`: the tag the profile no longer shows or uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Muted {
    pub muted: String,
}

/// `DELETE /api/me/behaviour`: how many events went, and whether a profile did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Erased {
    pub deleted_events: u64,
    pub deleted_profile: bool,
}

/// `GET /api/me/export`: everything kept about the person, as a download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Export {
    pub exported_at: Timestamp,
    /// `member` or `visitor`.
    pub subject: String,
    /// The member's id; absent for a visitor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    pub consent: Option<Consent>,
    /// `null` for a person with no stored profile.
    pub profile: Option<Profile>,
    pub events: Vec<ExportedEvent>,
    pub orders: Vec<ExportedOrder>,
}

/// A recorded behaviour event, with where it was recorded: `app`, `clerk:…` (which clerk, by a
/// prefix of their phone's hash) or `device:…` (which device).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExportedEvent {
    #[serde(flatten)]
    pub event: Event,
    pub source: String,
}

/// One of the person's orders, as the export lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExportedOrder {
    pub id: String,
    pub store_id: String,
    pub state: String,
    pub total_fen: i64,
    pub created_at: i64,
}
