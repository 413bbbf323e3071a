//! The consoles' answers for running a store, a supplier and the platform: the SKUs with their
//! bands, prices and stock, a store's staff, a supplier's import, the platform's settings and
//! its tenants.

use serde::{Deserialize, Serialize};

use crate::catalog::{SkuId, StoreId, SupplierId};
use crate::import::RowError;

/// A SKU as a console lists it: its band, a store's price (none off its shelf or for a
/// supplier's list) and the stock where it is counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConsoleSku {
    pub sku_id: String,
    pub product_id: String,
    pub supplier_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub size: Option<String>,
    pub colour_zh: Option<String>,
    pub supply_price_fen: i64,
    pub min_price_fen: i64,
    pub max_price_fen: i64,
    pub price_fen: Option<i64>,
    pub on_hand: Option<i64>,
    pub reserved: Option<i64>,
    /// Whether the stock row is on flash sale (no row: not).
    #[serde(deserialize_with = "flag")]
    pub flash_sale: bool,
}

/// A flag written as a boolean, or as SQL keeps one (0 or 1, none when the row is missing).
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Integer(i64),
    }
    Ok(match Option::<Flag>::deserialize(deserializer)? {
        Some(Flag::Bool(flag)) => flag,
        Some(Flag::Integer(n)) => n != 0,
        None => false,
    })
}

/// The platform's fee and the distribution cap over it, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Settings {
    pub platform_fee_bp: u32,
    pub distribution_cap_bp: u32,
}

/// `GET /api/store/{id}/catalog`: every SKU of the active suppliers with this store's price and
/// stock, and the settings a price must leave room for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StoreCatalog {
    pub skus: Vec<ConsoleSku>,
    #[serde(flatten)]
    pub settings: Settings,
}

/// `GET /api/supplier/{id}/skus`: the supplier's SKUs with their warehouse stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SupplierSkus {
    pub skus: Vec<ConsoleSku>,
}

/// One of a store's staff: by their phone's lookup hash, the phone masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StaffMember {
    pub id: String,
    pub phone: Option<String>,
    /// `owner` or `clerk`.
    pub role: String,
}

/// `GET /api/store/{id}/clerks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StaffList {
    pub staff: Vec<StaffMember>,
}

/// `POST /api/supplier/{id}/import`: rows applied, and each refused row with its line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImportAnswer {
    pub applied: usize,
    pub errors: Vec<RowError>,
}

/// A store or supplier as the operator lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Tenant {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    /// `active` or `suspended`.
    pub status: String,
}

/// `GET /api/operator/tenants`: every store and supplier, suspended ones too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Tenants {
    pub stores: Vec<Tenant>,
    pub suppliers: Vec<Tenant>,
}

/// `PUT /api/store/{id}/shelf/{sku}`: the store's price, inside the supplier's band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ShelfPrice {
    pub price_fen: i64,
}

/// `PUT /api/store/{id}/stock/{sku}`: the units the store has for pickup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StoreStock {
    pub on_hand: i64,
    /// Puts the row on flash sale (`true`) or takes it off; absent: as it was. A row on flash
    /// sale admits its checkouts through its stock gate: made for a rush of buyers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_sale: Option<bool>,
}

/// `POST /api/store/{id}/clerks`: a clerk by phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClerkInvite {
    pub phone: String,
}

/// `POST /api/supplier/{id}/import`: CSV rows with their header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub csv: String,
}

/// `PUT /api/operator/settings`: the platform's fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FeeRequest {
    pub platform_fee_bp: u32,
}

/// `POST /api/operator/stores`: a store with its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NewStore {
    pub id: StoreId,
    pub name_zh: String,
    pub name_en: String,
    pub city_zh: String,
    pub city_en: String,
    pub address_zh: String,
    pub address_en: String,
    pub owner_phone: String,
}

/// `POST /api/operator/suppliers`: a supplier with its first staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSupplier {
    pub id: SupplierId,
    pub name_zh: String,
    pub name_en: String,
    pub staff_phone: String,
}

/// `PUT /api/operator/{stores|suppliers}/{id}/status`: `active` or `suspended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: String,
}

/// `PUT /api/store/{id}/shelf/{sku}`: the SKU's price on the shelf now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PriceSet {
    pub sku_id: SkuId,
    pub price_fen: i64,
}

/// `DELETE /api/store/{id}/shelf/{sku}`: the SKU is off the shelf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OffShelf {
    pub sku_id: SkuId,
    pub on_shelf: bool,
}

/// `PUT /api/store/{id}/stock/{sku}` and `PUT /api/supplier/{id}/stock`: the units on hand now,
/// and whether the row is on flash sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StockSet {
    pub sku_id: SkuId,
    pub on_hand: i64,
    pub flash_sale: bool,
}

/// A removal (a clerk by id, a picture by address): what was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Removed {
    pub removed: String,
}

/// A store or supplier created (`201`) or its status set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TenantStatus {
    pub id: String,
    /// `active` or `suspended`.
    pub status: String,
}

/// `POST /api/supplier/{id}/products/{product}/media`: the picture kept, where it is in the
/// gallery, what it is and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MediaAdded {
    pub url: String,
    pub position: i64,
    pub content_type: String,
    pub bytes: usize,
}
