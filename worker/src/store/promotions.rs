//! The promotion rules of a scope (a store's own, or the platform's) as stored: read with the
//! platform's beside them for `promote::in_force`, and saved only over the version the editor
//! read.

use serde::Deserialize;
use tandem_domain::catalog::{StoreId, Text};
use tandem_domain::profile::Profile;
use tandem_domain::promote::{self, InForce, Rule};
use tandem_domain::time::Timestamp;

use super::profiles::{self, Purchase, Stored};
use super::sql::{self, Database, Guarded, RACE_GUARDS, StoreError, statement, stored};

/// The key of a scope's rules.
fn scope_key(store: Option<&StoreId>) -> String {
    store.map_or_else(|| "platform".to_owned(), |s| format!("store:{s}"))
}

#[derive(Deserialize)]
struct RulesRow {
    scope: String,
    body: String,
    version: i64,
}

/// The rules in force for a store (`None`: the platform).
pub async fn in_force<D: Database>(db: &D, store: Option<&StoreId>) -> Result<InForce, StoreError> {
    let own_key = scope_key(store);
    let read =
        statement!("SELECT scope, body, version FROM promotion_rules WHERE scope = 'platform' OR scope = ?1", &own_key);
    let rows: Vec<RulesRow> = sql::run(db, vec![read]).await?.all()?;
    let rules = |row: &RulesRow| stored(serde_json::from_str::<Vec<Rule>>(&row.body));
    let own =
        rows.iter().find(|r| r.scope == own_key).map(|r| Ok::<_, StoreError>((rules(r)?, r.version))).transpose()?;
    let platform = rows.iter().find(|r| r.scope == "platform" && store.is_some()).map(rules).transpose()?;
    Ok(promote::in_force(store.is_some(), own, platform))
}

/// Saves a scope's rules over `version` as the editor read it (`None`: the scope had none of
/// its own). `Written(false)` when they changed meanwhile.
pub async fn save<D: Database>(
    db: &D,
    store: Option<&StoreId>,
    rules: &[Rule],
    version: Option<i64>,
    now: Timestamp,
) -> Result<Guarded<bool>, StoreError> {
    let (scope, body) = (scope_key(store), serde_json::to_string(rules).map_err(StoreError::failed)?);
    let write = match version {
        None => statement!(
            "INSERT INTO promotion_rules (scope, body, version, updated_at) VALUES (?1, ?2, 1, ?3)",
            scope,
            body,
            now.millis()
        ),
        Some(version) => statement!(
            "UPDATE promotion_rules SET body = ?2, updated_at = ?4, version = CASE WHEN version = ?3 THEN version + 1 END
             WHERE scope = ?1",
            scope,
            body,
            version,
            now.millis()
        ),
    };
    match sql::guarded(db, vec![write], RACE_GUARDS).await? {
        Guarded::Written(mut results) => Ok(Guarded::Written(results.changes()? == 1)),
        Guarded::Lost(constraint) => Ok(Guarded::Lost(constraint)),
    }
}

/// A store's name (`None` for no such store).
pub async fn store_name<D: Database>(db: &D, store: &StoreId) -> Result<Option<Text>, StoreError> {
    #[derive(Deserialize)]
    struct Name {
        name_zh: String,
        name_en: String,
    }
    let read = statement!("SELECT name_zh, name_en FROM stores WHERE id = ?1", store.as_str());
    let name: Option<Name> = sql::run(db, vec![read]).await?.first()?;
    Ok(name.map(|n| Text::new(n.name_zh, n.name_en)))
}

/// A person a preview may show: who agreed to personalisation, with their stored profile and
/// what names them.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub subject: String,
    pub profile: Profile,
    pub display_name: Option<String>,
    /// A member's sealed phone number.
    pub phone_sealed: Option<String>,
}

#[derive(Deserialize)]
struct CandidateRow {
    subject: String,
    body: Option<String>,
    display_name: Option<String>,
    phone_enc: Option<String>,
}

#[derive(Deserialize)]
struct Count {
    people: i64,
}

/// The people a preview shows (at most `limit`, latest profile first): a store's customers
/// (offline events there, attributed by its clerks, or buyers of its orders), or everyone for
/// the platform, who agreed to personalisation; how many people the pool has in all; and the
/// shown people's purchases. Two round trips.
pub async fn candidates<D: Database>(
    db: &D,
    store: Option<&StoreId>,
    limit: i64,
) -> Result<(Vec<Candidate>, i64, Vec<Purchase>), StoreError> {
    let pool = "WITH pool AS (
            SELECT subject FROM behaviour_events WHERE ?1 IS NOT NULL AND store_id = ?1
            UNION SELECT subject FROM clerk_customers WHERE ?1 IS NOT NULL AND store_id = ?1
            UNION SELECT 'm:' || member_id FROM orders WHERE ?1 IS NOT NULL AND store_id = ?1 AND paid_at IS NOT NULL
            UNION SELECT subject FROM consents WHERE ?1 IS NULL)";
    let store = store.map(StoreId::as_str);
    let mut results = sql::run(
        db,
        vec![
            statement!(
                format!(
                    "{pool}
                     SELECT p.subject, pr.body, cm.display_name, m.phone_enc
                     FROM pool p JOIN consents c ON c.subject = p.subject AND c.behaviour = 1 AND c.personalised = 1
                     LEFT JOIN profiles pr ON pr.subject = p.subject
                     LEFT JOIN members m ON p.subject = 'm:' || m.id
                     LEFT JOIN chain_members cm ON cm.member_id = m.id
                     ORDER BY pr.updated_at DESC LIMIT ?2"
                ),
                store,
                limit
            ),
            statement!(format!("{pool} SELECT COUNT(*) AS people FROM pool"), store),
        ],
    )
    .await?;
    let rows: Vec<CandidateRow> = results.all()?;
    let pool_size = results.first::<Count>()?.map_or(0, |c| c.people);
    let subjects: Vec<&str> = rows.iter().map(|r| r.subject.as_str()).collect();
    let purchases = sql::run(db, vec![profiles::purchases_read(&subjects)?]).await?.all()?;
    let candidates = rows
        .into_iter()
        .map(|row| {
            Ok(Candidate {
                profile: match &row.body {
                    Some(body) => stored(serde_json::from_str(body))?,
                    None => Profile::default(),
                },
                subject: row.subject,
                display_name: row.display_name,
                phone_sealed: row.phone_enc,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((candidates, pool_size, purchases))
}

#[derive(Deserialize)]
struct NamedRow {
    display_name: Option<String>,
}

/// What a person's own offer reads: their consent, profile and purchases, and the name they
/// chose as a sharer. One round trip.
pub async fn for_offer<D: Database>(db: &D, key: &str) -> Result<(Stored, Vec<Purchase>, Option<String>), StoreError> {
    let mut reads: Vec<sql::Statement> = profiles::stored_reads(key).into();
    reads.push(profiles::purchases_read(&[key])?);
    reads.push(statement!("SELECT display_name FROM chain_members WHERE 'm:' || member_id = ?1", key));
    let mut results = sql::run(db, reads).await?;
    let stored = profiles::stored_from(&mut results)?;
    let purchases = profiles::purchases_from(&mut results)?;
    let name = results.first::<NamedRow>()?.and_then(|n| n.display_name);
    Ok((stored, purchases, name))
}

#[cfg(test)]
mod tests {
    use tandem_domain::promote::{Source, defaults};

    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::block_on;

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    #[test]
    fn a_store_inherits_the_platform_s_rules_until_it_saves_its_own_over_the_version_read() {
        let db = fixtures::catalogue();
        let store = StoreId::parse("s-1").unwrap();
        assert_eq!(block_on(in_force(&db, Some(&store))).unwrap().source, Source::Default);
        let platform = defaults()[..1].to_vec();
        assert_eq!(block_on(save(&db, None, &platform, None, NOW)).unwrap(), Guarded::Written(true));
        let inherited = block_on(in_force(&db, Some(&store))).unwrap();
        assert_eq!((inherited.source, inherited.own_version, inherited.rules), (Source::Platform, None, platform));
        let own = defaults()[1..].to_vec();
        assert_eq!(block_on(save(&db, Some(&store), &own, None, NOW)).unwrap(), Guarded::Written(true));
        // A second editor who also started from no rules of the store's own loses.
        assert!(matches!(block_on(save(&db, Some(&store), &own, None, NOW)).unwrap(), Guarded::Lost(_)));
        let read = block_on(in_force(&db, Some(&store))).unwrap();
        assert_eq!((read.source, read.own_version), (Source::Store, Some(1)));
        assert_eq!(block_on(save(&db, Some(&store), &own, Some(1), NOW)).unwrap(), Guarded::Written(true));
        // An editor who read version 1 after it moved on.
        assert!(matches!(block_on(save(&db, Some(&store), &own, Some(1), NOW)).unwrap(), Guarded::Lost(_)));
        assert!(!matches!(block_on(save(&db, None, &own, Some(9), NOW)).unwrap(), Guarded::Written(true)));
        assert_eq!(block_on(in_force(&db, None)).unwrap().source, Source::Platform);
        assert_eq!(block_on(store_name(&db, &store)).unwrap().map(|t| t.en), Some("Store".to_owned()));
    }
}
