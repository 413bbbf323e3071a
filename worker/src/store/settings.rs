//! The platform's settings (the fee, the distribution cap) and what the published
//! distribution rules add to them: read here, decided by `PricingPolicy::from_settings`.

use serde::Deserialize;
use tandem_domain::pricing::PricingPolicy;

use super::sql::{self, Database, Results, Rows, Statement, StoreError, statement};

#[derive(Debug, Deserialize)]
struct SettingRow {
    key: String,
    value: i64,
}

/// The two reads the pricing policy needs, to join any read batch.
pub fn pricing_reads() -> Vec<Statement> {
    vec![statement!("SELECT key, value FROM settings ORDER BY key"), super::rules::published_read()]
}

/// The policy from the results of [`pricing_reads`], taken next from `results`.
pub fn pricing_from<R: Rows>(results: &mut Results<R>) -> Result<PricingPolicy, StoreError> {
    let settings: Vec<SettingRow> = results.all()?;
    let published = super::rules::published_from(results)?.map(|(_, rules)| rules.cap.total_bp);
    PricingPolicy::from_settings(settings.iter().map(|s| (s.key.as_str(), s.value)), published)
        .map_err(StoreError::failed)
}

/// The pricing policy in force.
pub async fn pricing<D: Database>(db: &D) -> Result<PricingPolicy, StoreError> {
    pricing_from(&mut sql::run(db, pricing_reads()).await?)
}

/// Sets the platform's fee on goods.
pub async fn set_platform_fee<D: Database>(db: &D, fee_bp: u32) -> Result<(), StoreError> {
    sql::run(db, vec![statement!("UPDATE settings SET value = ?1 WHERE key = 'platform_fee_bp'", i64::from(fee_bp))])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tandem_domain::chain21::rules::Rules;

    use super::*;
    use crate::store::sqlite::{Sqlite, block_on};

    #[test]
    fn the_fee_is_the_setting_and_the_cap_the_published_rules() {
        let db = Sqlite::migrated().unwrap();
        let policy = block_on(pricing(&db)).unwrap();
        assert_eq!(
            policy,
            PricingPolicy::from_settings([("platform_fee_bp", 500), ("distribution_cap_bp", 3_500)], None).unwrap()
        );
        block_on(set_platform_fee(&db, 300)).unwrap();
        assert_eq!(block_on(pricing(&db)).unwrap().platform_fee.get(), 300);
        let mut rules = Rules::chain21();
        rules.cap.total_bp = 1_500;
        let body = serde_json::to_string(&rules).unwrap().replace('\'', "''");
        db.execute(&format!(
            "INSERT INTO chain_rules (version, state, body, created_at, published_at) VALUES (1, 'published', '{body}', 0, 0)"
        ))
        .unwrap();
        assert_eq!(block_on(pricing(&db)).unwrap().distribution_cap.get(), 1_500);
    }
}
