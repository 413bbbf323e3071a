//! The distribution rules' versions: drafts saved under the next free number, publishing one
//! (the one published before retired, kept for the orders paid under it), and the published
//! rules as the domain's typed [`Rules`]. The body is the domain's JSON; the two windows a
//! payment filters by in SQL are columns written from the typed rules, never read out of the
//! body by `json_extract`.

use serde::Deserialize;
use tandem_domain::chain21::rules::Rules;
use tandem_domain::time::Timestamp;

use super::sql::{self, Database, Guarded, RACE_GUARDS, Results, Rows, Statement, StoreError, statement};

const COLUMNS: &str = "version, body, state, created_at, published_at, acknowledged";

/// A stored version of the rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VersionRow {
    pub version: i64,
    pub body: String,
    pub state: String,
    pub created_at: i64,
    pub published_at: Option<i64>,
    /// The codes of the compliance findings acknowledged at publishing, as a JSON array.
    pub acknowledged: Option<String>,
}

impl VersionRow {
    pub fn rules(&self) -> Result<Rules, StoreError> {
        Rules::from_json(&self.body).map_err(|e| StoreError::failed(format!("rules version {}: {e}", self.version)))
    }

    pub fn acknowledged(&self) -> Result<Option<Vec<String>>, StoreError> {
        self.acknowledged.as_deref().map(serde_json::from_str).transpose().map_err(StoreError::failed)
    }
}

/// The newest 50 versions, newest first.
pub async fn list<D: Database>(db: &D) -> Result<Vec<VersionRow>, StoreError> {
    sql::run(db, vec![statement!(format!("SELECT {COLUMNS} FROM chain_rules ORDER BY version DESC LIMIT 50"))])
        .await?
        .all()
}

/// One version, if it exists.
pub async fn version<D: Database>(db: &D, version: i64) -> Result<Option<VersionRow>, StoreError> {
    sql::run(db, vec![statement!(format!("SELECT {COLUMNS} FROM chain_rules WHERE version = ?1"), version)])
        .await?
        .first()
}

/// The read of the published rules, to join a read batch; taken by [`published_from`].
pub fn published_read() -> Statement {
    statement!("SELECT version, body FROM chain_rules WHERE state = 'published'")
}

#[derive(Deserialize)]
struct PublishedRow {
    version: i64,
    body: String,
}

/// The published rules and their version from the result of [`published_read`]; `None`
/// before any rules were published.
pub fn published_from<R: Rows>(results: &mut Results<R>) -> Result<Option<(u32, Rules)>, StoreError> {
    let Some(row) = results.first::<PublishedRow>()? else { return Ok(None) };
    let rules = Rules::from_json(&row.body).map_err(StoreError::failed)?;
    Ok(Some((u32::try_from(row.version).map_err(StoreError::failed)?, rules)))
}

/// The published rules, if any.
pub async fn published<D: Database>(db: &D) -> Result<Option<(u32, Rules)>, StoreError> {
    published_from(&mut sql::run(db, vec![published_read()]).await?)
}

#[derive(Deserialize)]
struct Next {
    version: i64,
}

/// The next free version number.
pub async fn next_version<D: Database>(db: &D) -> Result<i64, StoreError> {
    let next = statement!("SELECT coalesce(max(version), 0) + 1 AS version FROM chain_rules");
    Ok(sql::run(db, vec![next]).await?.first::<Next>()?.map_or(1, |n| n.version))
}

/// Saves `rules` as a draft under its own version. `Lost` when that version was taken
/// meanwhile (the primary key refuses it): the caller takes the next number and tries again.
pub async fn insert_draft<D: Database>(db: &D, rules: &Rules, now: Timestamp) -> Result<Guarded<()>, StoreError> {
    let body = serde_json::to_string(rules).map_err(StoreError::failed)?;
    let insert = statement!(
        "INSERT INTO chain_rules (version, body, state, created_at, team_period_days, conversion_window_days)
         VALUES (?1, ?2, 'draft', ?3, ?4, ?5)",
        i64::from(rules.version),
        body,
        now.millis(),
        i64::from(rules.peer.period_days),
        i64::from(rules.dynamic.window_days)
    );
    Ok(sql::guarded(db, vec![insert], RACE_GUARDS).await?.map(|_| ()))
}

/// Publishes draft `version` with the findings `acknowledged`: the version published before is
/// retired, and the rules' epoch moves so payments in flight read the rules again.
/// `Lost` when the version is no longer a draft.
pub async fn publish<D: Database>(
    db: &D,
    version: i64,
    acknowledged: &[&str],
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let codes = serde_json::to_string(acknowledged).map_err(StoreError::failed)?;
    let writes = vec![
        statement!("UPDATE chain_rules SET state = 'retired' WHERE state = 'published'"),
        statement!(
            "UPDATE chain_rules SET state = CASE WHEN state = 'draft' THEN 'published' END, published_at = ?2,
                    acknowledged = ?3
             WHERE version = ?1",
            version,
            now.millis(),
            codes
        ),
        statement!("UPDATE chain_network SET version = version + 1 WHERE id = 1"),
    ];
    Ok(sql::guarded(db, writes, RACE_GUARDS).await?.map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    #[derive(Deserialize)]
    struct Windows {
        team_period_days: i64,
        conversion_window_days: i64,
    }

    #[test]
    fn a_draft_is_published_once_and_retires_the_one_before() {
        let db = Sqlite::migrated().unwrap();
        let mut first = Rules::chain21();
        first.version = u32::try_from(block_on(next_version(&db)).unwrap()).unwrap();
        assert_eq!(first.version, 1);
        assert_eq!(block_on(insert_draft(&db, &first, NOW)).unwrap(), Guarded::Written(()));
        // A draft saved at the same time under the same number loses.
        assert!(matches!(block_on(insert_draft(&db, &first, NOW)).unwrap(), Guarded::Lost(_)));
        assert_eq!(block_on(published(&db)).unwrap(), None);
        assert_eq!(block_on(publish(&db, 1, &["a"], NOW)).unwrap(), Guarded::Written(()));
        assert!(matches!(block_on(publish(&db, 1, &["a"], NOW)).unwrap(), Guarded::Lost(_)), "published twice");
        let mut second = Rules::chain21();
        second.version = 2;
        second.peer.period_days = 7;
        second.dynamic.window_days = 14;
        block_on(insert_draft(&db, &second, NOW)).unwrap();
        block_on(publish(&db, 2, &[], NOW)).unwrap();
        let (version, rules) = block_on(published(&db)).unwrap().unwrap();
        assert_eq!((version, rules.peer.period_days), (2, 7));
        let versions = block_on(list(&db)).unwrap();
        let states: Vec<&str> = versions.iter().map(|v| v.state.as_str()).collect();
        assert_eq!(states, ["published", "retired"]);
        assert_eq!(versions[1].acknowledged().unwrap(), Some(vec!["a".to_owned()]));
        let windows = statement!("SELECT team_period_days, conversion_window_days FROM chain_rules WHERE version = 2");
        let windows: Windows = block_on(sql::run(&db, vec![windows])).unwrap().first().unwrap().unwrap();
        assert_eq!((windows.team_period_days, windows.conversion_window_days), (7, 14));
    }

    /// Migration 0011 fills the windows of versions saved before it from their bodies.
    #[test]
    fn the_windows_of_older_versions_come_from_their_bodies() {
        let db = Sqlite::migrated().unwrap();
        let mut rules = Rules::chain21();
        rules.peer.period_days = 9;
        let body = serde_json::to_string(&rules).unwrap().replace('\'', "''");
        db.execute(&format!(
            "INSERT INTO chain_rules (version, state, body, created_at) VALUES (1, 'draft', '{body}', 0)"
        ))
        .unwrap();
        let migration = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/0011_rules_windows.sql"),
        )
        .unwrap();
        let updates: String = migration.lines().skip_while(|l| !l.starts_with("UPDATE")).collect::<Vec<_>>().join("\n");
        db.execute(&updates).unwrap();
        let windows = statement!("SELECT team_period_days, conversion_window_days FROM chain_rules WHERE version = 1");
        let windows: Windows = block_on(sql::run(&db, vec![windows])).unwrap().first().unwrap().unwrap();
        assert_eq!((windows.team_period_days, windows.conversion_window_days), (9, 30));
    }
}
