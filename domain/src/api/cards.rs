//! The business card's answers: a card with its links, the owner's own card, a photo kept, the
//! visitor radar, a store's card with its door code, and what a visit did.

use serde::{Deserialize, Serialize};

use crate::card::{CardView, RadarEntry, Role};

/// Where a card leads: its page, its vCard, a person's invite link, a store's door code and
/// the shelf of the owner's store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardLinks {
    pub card: String,
    pub vcard: String,
    pub invite: Option<String>,
    pub door: Option<String>,
    pub shelf: Option<String>,
}

impl CardLinks {
    pub fn of(view: &CardView) -> CardLinks {
        CardLinks {
            card: format!("/c/{}", view.code),
            vcard: format!("/api/cards/{}/vcard", view.code),
            invite: (view.role != Role::Store).then(|| format!("/i/{}", view.code)),
            door: (view.role == Role::Store).then(|| format!("/c/{}?door=1", view.code)),
            shelf: view.store.as_ref().map(|s| format!("/?store={}", s.id)),
        }
    }
}

/// `GET /api/cards/{code}`: a card, for anyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardAnswer {
    pub card: CardView,
    pub links: CardLinks,
}

impl CardAnswer {
    pub fn of(card: CardView) -> CardAnswer {
        let links = CardLinks::of(&card);
        CardAnswer { card, links }
    }
}

/// `GET /api/me/card` (and its edit): the caller's card as others see it, with what only the
/// owner sees of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MyCard {
    pub card: CardView,
    pub links: CardLinks,
    pub show_phone: bool,
    pub featured_ids: Vec<String>,
}

/// `PUT /api/me/card/photo`: the photo's address and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PhotoAnswer {
    pub photo: String,
    pub bytes: usize,
}

/// `GET /api/me/radar`: who opened the caller's card lately, and the customers attributed to
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Radar {
    pub code: String,
    pub role: Role,
    pub visitors: Vec<RadarEntry>,
    pub customers: Vec<RadarEntry>,
}

/// `GET /api/store/{id}/card`: the store's card, its door code and both as QR codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StoreCard {
    pub card: CardView,
    pub links: CardLinks,
    pub card_url: String,
    pub door_url: String,
    pub card_qr_svg: String,
    pub door_qr_svg: String,
}

/// `POST /api/cards/{code}/visits`: what the visit did (four answers, not a state machine).
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Visited {
    pub recorded: bool,
    pub own_card: bool,
    pub attributed: bool,
    pub checked_in: bool,
    /// `known` (a member or a consented visitor) or `anonymous`.
    pub visitor: String,
}

/// `POST /api/cards/{code}/visits`: `card`, `product` (naming it) or `door`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct VisitRequest {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::StoreRef;
    use crate::catalog::{StoreId, Text};

    #[test]
    fn a_person_s_card_invites_and_a_store_s_has_a_door() {
        let store = StoreRef {
            id: StoreId::parse("s-1").unwrap(),
            name: Text::new("店", "Store"),
            address: Text::new("路", "Road"),
        };
        let person = CardView {
            code: "k7m2p9qa".into(),
            role: Role::Clerk,
            role_label: Role::Clerk.label(),
            name: "李芳".into(),
            initials: "芳".into(),
            photo: None,
            title: None,
            bio: None,
            store: Some(store),
            phone: None,
            wechat: None,
            email: None,
            featured: Vec::new(),
        };
        let links = CardLinks::of(&person);
        assert_eq!((links.invite.as_deref(), links.door), (Some("/i/k7m2p9qa"), None));
        assert_eq!(links.shelf.as_deref(), Some("/?store=s-1"));
        let shop = CardView { code: "STORE00001".into(), role: Role::Store, store: None, ..person };
        let links = CardLinks::of(&shop);
        assert_eq!((links.invite, links.door.as_deref()), (None, Some("/c/STORE00001?door=1")));
        assert_eq!(links.vcard, "/api/cards/STORE00001/vcard");
    }
}
