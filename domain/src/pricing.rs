//! Shelf pricing. A supplier sells a SKU to stores at its supply price and allows them a band
//! of retail prices; a store picks its price inside the band. The price must also leave the
//! store a margin large enough to pay the most the distribution rules can pay out on it
//! (`money.md`, "Pricing guard"), so rewards never push a store's margin on an order below zero.

use serde::{Deserialize, Serialize};

use crate::money::{BasisPoints, Fen};

/// The platform's fee until an operator configures another (5 %).
pub const DEFAULT_PLATFORM_FEE_BP: u32 = 500;
/// The distribution cap in force until distribution rules are published (`money.md`).
pub const DEFAULT_DISTRIBUTION_CAP_BP: u32 = 3_500;

/// The retail prices a supplier allows stores to charge for one SKU, with its supply price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PriceBand {
    supply_fen: Fen,
    min_fen: Fen,
    max_fen: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceBandError {
    #[error("supply price must be positive, got {supply_fen} fen")]
    SupplyNotPositive { supply_fen: i64 },
    #[error("lowest retail price {min_fen} fen is below the supply price {supply_fen} fen")]
    MinBelowSupply { min_fen: i64, supply_fen: i64 },
    #[error("lowest retail price {min_fen} fen is above the highest {max_fen} fen")]
    MinAboveMax { min_fen: i64, max_fen: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShelfPriceError {
    #[error("price {price_fen} fen is below the supplier's lowest allowed price {min_fen} fen")]
    BelowBand { price_fen: i64, min_fen: i64 },
    #[error("price {price_fen} fen is above the supplier's highest allowed price {max_fen} fen")]
    AboveBand { price_fen: i64, max_fen: i64 },
    #[error(
        "price {price_fen} fen leaves a margin of {margin_fen} fen, below the {required_fen} fen the distribution cap may pay out"
    )]
    MarginBelowCap { price_fen: i64, margin_fen: i64, required_fen: i64 },
}

/// The platform settings a shelf price is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricingPolicy {
    pub platform_fee: BasisPoints,
    pub distribution_cap: BasisPoints,
}

impl Default for PricingPolicy {
    fn default() -> Self {
        Self {
            platform_fee: BasisPoints::clamped(DEFAULT_PLATFORM_FEE_BP),
            distribution_cap: BasisPoints::clamped(DEFAULT_DISTRIBUTION_CAP_BP),
        }
    }
}

/// The highest fee an operator may set on goods (20 %).
pub const MAX_PLATFORM_FEE_BP: u32 = 2_000;

/// The fee an operator asks for, if the platform allows it.
pub fn platform_fee(bp: u32) -> Result<BasisPoints, SettingError> {
    BasisPoints::new(bp)
        .ok()
        .filter(|fee| fee.get() <= MAX_PLATFORM_FEE_BP)
        .ok_or(SettingError { key: "platform_fee_bp".to_owned(), value: i64::from(bp) })
}

/// A stored setting that is not a rate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the setting {key} = {value} is not a rate in basis points")]
pub struct SettingError {
    pub key: String,
    pub value: i64,
}

impl PricingPolicy {
    /// The policy in force: the operator's stored settings (`platform_fee_bp`,
    /// `distribution_cap_bp`) over the defaults, and the published distribution rules' cap
    /// over the cap setting once rules are published (`money.md`, "Pricing guard").
    pub fn from_settings<'a>(
        settings: impl IntoIterator<Item = (&'a str, i64)>,
        published_cap_bp: Option<u32>,
    ) -> Result<Self, SettingError> {
        let mut policy = PricingPolicy::default();
        for (key, value) in settings {
            let rate = || {
                u32::try_from(value)
                    .ok()
                    .and_then(|bp| BasisPoints::new(bp).ok())
                    .ok_or_else(|| SettingError { key: key.to_owned(), value })
            };
            match key {
                "platform_fee_bp" => policy.platform_fee = rate()?,
                "distribution_cap_bp" => policy.distribution_cap = rate()?,
                _ => {}
            }
        }
        if let Some(cap) = published_cap_bp {
            policy.distribution_cap = BasisPoints::new(cap)
                .map_err(|_| SettingError { key: "cap.total_bp".to_owned(), value: i64::from(cap) })?;
        }
        Ok(policy)
    }
}

impl PriceBand {
    pub fn new(supply_fen: Fen, min_fen: Fen, max_fen: Fen) -> Result<Self, PriceBandError> {
        if !supply_fen.is_positive() {
            return Err(PriceBandError::SupplyNotPositive { supply_fen: supply_fen.get() });
        }
        if min_fen < supply_fen {
            return Err(PriceBandError::MinBelowSupply { min_fen: min_fen.get(), supply_fen: supply_fen.get() });
        }
        if min_fen > max_fen {
            return Err(PriceBandError::MinAboveMax { min_fen: min_fen.get(), max_fen: max_fen.get() });
        }
        Ok(Self { supply_fen, min_fen, max_fen })
    }

    pub fn supply_fen(self) -> Fen {
        self.supply_fen
    }

    pub fn min_fen(self) -> Fen {
        self.min_fen
    }

    pub fn max_fen(self) -> Fen {
        self.max_fen
    }

    /// What the store keeps of `price` before distribution rewards: the price less the supply
    /// price and the platform's fee.
    pub fn store_margin(self, price: Fen, policy: PricingPolicy) -> Fen {
        price - self.supply_fen - price.share(policy.platform_fee)
    }

    /// Checks a store's shelf price for this SKU.
    pub fn check_shelf_price(self, price: Fen, policy: PricingPolicy) -> Result<(), ShelfPriceError> {
        if price < self.min_fen {
            return Err(ShelfPriceError::BelowBand { price_fen: price.get(), min_fen: self.min_fen.get() });
        }
        if price > self.max_fen {
            return Err(ShelfPriceError::AboveBand { price_fen: price.get(), max_fen: self.max_fen.get() });
        }
        let margin = self.store_margin(price, policy);
        let required = price.share(policy.distribution_cap);
        if margin < required {
            return Err(ShelfPriceError::MarginBelowCap {
                price_fen: price.get(),
                margin_fen: margin.get(),
                required_fen: required.get(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_policy_is_the_settings_over_the_defaults_and_the_published_cap_over_the_setting() {
        assert_eq!(PricingPolicy::from_settings([], None).unwrap(), PricingPolicy::default());
        let set = PricingPolicy::from_settings(
            [("platform_fee_bp", 300), ("distribution_cap_bp", 2_000), ("other", 1)],
            None,
        )
        .unwrap();
        assert_eq!((set.platform_fee.get(), set.distribution_cap.get()), (300, 2_000));
        let published = PricingPolicy::from_settings([("distribution_cap_bp", 2_000)], Some(1_500)).unwrap();
        assert_eq!(published.distribution_cap.get(), 1_500);
        assert_eq!(platform_fee(2_000).map(BasisPoints::get), Ok(2_000));
        assert!(platform_fee(2_001).is_err());
        assert_eq!(
            PricingPolicy::from_settings([("platform_fee_bp", -1)], None),
            Err(SettingError { key: "platform_fee_bp".into(), value: -1 })
        );
    }

    fn band(supply: i64, min: i64, max: i64) -> PriceBand {
        PriceBand::new(Fen(supply), Fen(min), Fen(max)).unwrap()
    }

    #[test]
    fn band_must_be_ordered() {
        assert_eq!(PriceBand::new(Fen(0), Fen(1), Fen(2)), Err(PriceBandError::SupplyNotPositive { supply_fen: 0 }));
        assert_eq!(
            PriceBand::new(Fen(100), Fen(99), Fen(200)),
            Err(PriceBandError::MinBelowSupply { min_fen: 99, supply_fen: 100 })
        );
        assert_eq!(
            PriceBand::new(Fen(100), Fen(300), Fen(200)),
            Err(PriceBandError::MinAboveMax { min_fen: 300, max_fen: 200 })
        );
    }

    #[test]
    fn price_must_sit_inside_the_band() {
        let policy = PricingPolicy::default();
        let band = band(5_000, 9_900, 15_900);
        assert_eq!(band.check_shelf_price(Fen(9_900), policy), Ok(()));
        assert_eq!(band.check_shelf_price(Fen(15_900), policy), Ok(()));
        assert_eq!(
            band.check_shelf_price(Fen(9_899), policy),
            Err(ShelfPriceError::BelowBand { price_fen: 9_899, min_fen: 9_900 })
        );
        assert_eq!(
            band.check_shelf_price(Fen(15_901), policy),
            Err(ShelfPriceError::AboveBand { price_fen: 15_901, max_fen: 15_900 })
        );
    }

    #[test]
    fn margin_must_cover_the_distribution_cap() {
        // ¥100 with a ¥60 supply price: fee ¥5, margin ¥35, cap 35 % = ¥35: just passes.
        let policy = PricingPolicy::default();
        assert_eq!(band(6_000, 6_000, 20_000).check_shelf_price(Fen(10_000), policy), Ok(()));
        assert_eq!(
            band(6_001, 6_001, 20_000).check_shelf_price(Fen(10_000), policy),
            Err(ShelfPriceError::MarginBelowCap { price_fen: 10_000, margin_fen: 3_499, required_fen: 3_500 })
        );
    }

    proptest! {
        #[test]
        fn an_accepted_price_always_covers_fee_and_cap(supply in 1i64..100_000, price in 1i64..400_000) {
            let policy = PricingPolicy::default();
            let band = band(supply, supply, supply.max(price));
            if band.check_shelf_price(Fen(price), policy).is_ok() {
                let margin = band.store_margin(Fen(price), policy);
                prop_assert!(margin >= Fen(price).share(policy.distribution_cap));
                prop_assert!(margin.get() >= 0);
            }
        }
    }
}
