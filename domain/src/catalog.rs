//! The catalogue: who sells what. Suppliers own products and their SKUs; stores show some of
//! those SKUs on their shelf. Every id is a validated newtype, and every text a shopper reads
//! comes in Chinese (the primary language) and English.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::money::Fen;
use crate::stock::Availability;

/// Longest id accepted anywhere; ids are short slugs such as `s-jingan` or `p-0012`.
pub const MAX_ID_LEN: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id is empty")]
    Empty,
    #[error("id is longer than {max} characters")]
    TooLong { max: usize },
    #[error("id may hold only lowercase letters, digits and '-'")]
    BadCharacter,
}

pub(crate) fn check_id(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty);
    }
    if raw.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { max: MAX_ID_LEN });
    }
    if !raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(IdError::BadCharacter);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[cfg_attr(feature = "schema", schemars(extend("pattern" = "^[a-z0-9-]{1,40}$")))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                check_id(raw)?;
                Ok(Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                check_id(&raw)?;
                Ok(Self(raw))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A supplier (the S of S2B2C): owns products, warehouses and stock.
    SupplierId
);
id_type!(
    /// A physical store (the B): runs one virtual shelf.
    StoreId
);
id_type!(
    /// A product: what a shopper sees as one item, with one or more SKUs.
    ProductId
);
id_type!(
    /// A stock-keeping unit: one variant (size, colour) of a product.
    SkuId
);

/// A text in both of the product's languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { zh: zh.into(), en: en.into() }
    }
}

/// The shelf's departments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Clothing,
    Beauty,
    /// 母婴: mother and baby.
    Baby,
    Snacks,
    Home,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category {given:?}; expected one of clothing, beauty, baby, snacks, home")]
pub struct UnknownCategory {
    pub given: String,
}

impl Category {
    pub const ALL: [Category; 5] =
        [Category::Clothing, Category::Beauty, Category::Baby, Category::Snacks, Category::Home];

    pub fn code(self) -> &'static str {
        match self {
            Category::Clothing => "clothing",
            Category::Beauty => "beauty",
            Category::Baby => "baby",
            Category::Snacks => "snacks",
            Category::Home => "home",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, UnknownCategory> {
        Category::ALL
            .into_iter()
            .find(|category| category.code() == raw)
            .ok_or_else(|| UnknownCategory { given: raw.to_owned() })
    }

    pub fn label(self) -> Text {
        match self {
            Category::Clothing => Text::new("服饰", "Clothing"),
            Category::Beauty => Text::new("美妆", "Beauty"),
            Category::Baby => Text::new("母婴", "Mother & baby"),
            Category::Snacks => Text::new("零食", "Snacks"),
            Category::Home => Text::new("家居", "Home"),
        }
    }
}

/// A variant's distinguishing attributes; either may be absent (a snack has neither).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Variant {
    pub size: Option<String>,
    pub colour: Option<Text>,
}

impl Variant {
    /// The variant in words, size first: "M / 黑色" and "M / Black"; empty for neither.
    pub fn label(&self) -> Text {
        let join =
            |colour: Option<&str>| [self.size.as_deref(), colour].into_iter().flatten().collect::<Vec<_>>().join(" / ");
        Text {
            zh: join(self.colour.as_ref().map(|c| c.zh.as_str())),
            en: join(self.colour.as_ref().map(|c| c.en.as_str())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    /// A glTF binary (`.glb`) model, shown with a 3D viewer.
    Model,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Media {
    pub kind: MediaKind,
    pub url: String,
    pub alt: Text,
}

/// A store as the store picker shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StoreSummary {
    pub id: StoreId,
    pub name: Text,
    pub city: Text,
    pub address: Text,
    /// Products on the store's shelf.
    pub shelf_size: u32,
}

/// One product on a store's shelf, as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ShelfItem {
    pub product_id: ProductId,
    pub category: Category,
    pub name: Text,
    pub image: String,
    /// The lowest of the store's prices for the product's SKUs ("from ¥…").
    pub price_from_fen: Fen,
    /// The highest, equal to `price_from_fen` when every SKU costs the same.
    pub price_to_fen: Fen,
    pub has_model: bool,
}

/// One SKU of a product as a given store offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SkuOffer {
    pub sku_id: SkuId,
    pub variant: Variant,
    pub price_fen: Fen,
    pub pickup: Availability,
    pub delivery: Availability,
}

/// A product page: the product, its media, and each SKU at the store's price with what can be
/// picked up at the store and what the supplier can deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProductDetail {
    pub product_id: ProductId,
    pub store_id: StoreId,
    pub supplier: Text,
    pub category: Category,
    pub name: Text,
    pub description: Text,
    pub media: Vec<Media>,
    pub skus: Vec<SkuOffer>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_id_pattern_is_what_parsing_allows() {
        // The API document's pattern for every id is `^[a-z0-9-]{1,40}$`.
        assert_eq!(MAX_ID_LEN, 40);
        assert!(StoreId::parse(&"a".repeat(40)).is_ok() && StoreId::parse(&"a".repeat(41)).is_err());
        assert!(StoreId::parse("s-1").is_ok() && StoreId::parse("S-1").is_err() && StoreId::parse("").is_err());
    }

    #[test]
    fn ids_are_validated_slugs() {
        assert!(StoreId::parse("s-jingan").is_ok());
        assert_eq!(StoreId::parse(""), Err(IdError::Empty));
        assert_eq!(StoreId::parse("S1"), Err(IdError::BadCharacter));
        assert_eq!(StoreId::parse("a b"), Err(IdError::BadCharacter));
        assert_eq!(ProductId::parse(&"p".repeat(41)), Err(IdError::TooLong { max: 40 }));
        assert!(serde_json::from_str::<SkuId>("\"DROP TABLE\"").is_err());
    }

    #[test]
    fn categories_round_trip_through_their_codes() {
        for category in Category::ALL {
            assert_eq!(Category::parse(category.code()), Ok(category));
            let json = serde_json::to_string(&category).unwrap();
            assert_eq!(json, format!("\"{}\"", category.code()));
        }
        assert!(Category::parse("toys").is_err());
        assert_eq!(Category::Baby.label().zh, "母婴");
    }
}
