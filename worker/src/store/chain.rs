//! The distribution network's rows: what a binding reads and writes. The domain decides
//! whether a member binds (`chain21::binding::decide`); this module reads what that needs and
//! writes the binding guarded by the network's version as it was read, so a binding and a
//! concurrent one (or a payment) that read the same network cannot both go through.

use serde::Deserialize;
use tandem_domain::time::Timestamp;

use super::sql::{self, Database, Guarded, RACE_GUARDS, Statement, StoreError, statement};

#[derive(Debug, Deserialize)]
struct MemberRow {
    inviter: Option<String>,
    has_paid: i64,
}

#[derive(Debug, Deserialize)]
struct IdRow {
    member_id: String,
}

#[derive(Debug, Deserialize)]
struct VersionRow {
    version: i64,
}

/// What binding a member to the owner of an invite code reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForBinding {
    /// The member's inviter and whether it has paid; `None` when it has no place yet.
    pub member: Option<(Option<String>, bool)>,
    /// The owner of the code; `None` for a code nobody has.
    pub sharer: Option<String>,
    /// The sharer's inviters up to the root, nearest first.
    pub sharer_upline: Vec<String>,
    /// The network's version as read: the binding's guard.
    pub version: i64,
}

/// Reads what binding `member_id` to the owner of `code` needs, in one round trip.
pub async fn for_binding<D: Database>(db: &D, member_id: &str, code: &str) -> Result<ForBinding, StoreError> {
    let sharer = "(SELECT member_id FROM chain_members WHERE invite_code = ?1)";
    let mut results = sql::run(
        db,
        vec![
            statement!("SELECT inviter, has_paid FROM chain_members WHERE member_id = ?1", member_id),
            statement!("SELECT member_id FROM chain_members WHERE invite_code = ?1", code),
            statement!(
                format!(
                    "WITH RECURSIVE up(id, depth) AS (
                         SELECT inviter, 1 FROM chain_members WHERE member_id = {sharer} AND inviter IS NOT NULL
                         UNION ALL SELECT m.inviter, up.depth + 1 FROM chain_members m JOIN up ON m.member_id = up.id
                         WHERE m.inviter IS NOT NULL AND up.depth < 100000)
                     SELECT id AS member_id FROM up ORDER BY depth"
                ),
                code
            ),
            statement!("SELECT version FROM chain_network WHERE id = 1"),
        ],
    )
    .await?;
    let member = results.first::<MemberRow>()?.map(|row| (row.inviter, row.has_paid != 0));
    let sharer = results.first::<IdRow>()?.map(|row| row.member_id);
    let sharer_upline = results.all::<IdRow>()?.into_iter().map(|row| row.member_id).collect();
    let version = results.first::<VersionRow>()?.map_or(0, |row| row.version);
    Ok(ForBinding { member, sharer, sharer_upline, version })
}

/// Binds `member_id` to `sharer` as decided on the network at `version`: the binding, the
/// member's visit to the sharer's link, and the version's move. `Lost` when the network
/// changed since it was read (the caller reads and decides again).
pub async fn bind<D: Database>(
    db: &D,
    member_id: &str,
    sharer: &str,
    version: i64,
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let statements: Vec<Statement> = vec![
        statement!(
            "UPDATE chain_network SET version = CASE WHEN version = ?1 THEN version + 1 END WHERE id = 1",
            version
        ),
        statement!(
            "UPDATE chain_members SET inviter = ?2, bound_at = ?3 WHERE member_id = ?1 AND inviter IS NULL",
            member_id,
            sharer,
            now.millis()
        ),
        visit(sharer, member_id, now),
    ];
    Ok(match sql::guarded(db, statements, RACE_GUARDS).await? {
        Guarded::Written(_) => Guarded::Written(()),
        Guarded::Lost(constraint) => Guarded::Lost(constraint),
    })
}

/// A member opened a sharer's link: a visitor of that link, for its conversion.
fn visit(sharer: &str, member_id: &str, now: Timestamp) -> Statement {
    statement!(
        "INSERT INTO chain_visits (sharer, visitor, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        sharer,
        member_id,
        now.millis()
    )
}

/// Records that a member opened a sharer's link, when no binding comes of it.
pub async fn record_visit<D: Database>(
    db: &D,
    sharer: &str,
    member_id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    sql::run(db, vec![visit(sharer, member_id, now)]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }

    /// r ← p ← x (x invited by p, p by r); y and z unbound, z has paid.
    fn network() -> Sqlite {
        let db = Sqlite::migrated().unwrap();
        let mut sql = String::new();
        for (i, id) in ["m-r", "m-p", "m-x", "m-y", "m-z"].iter().enumerate() {
            sql.push_str(&format!(
                "INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES ('{id}', '{}', 'x', 0);
                 INSERT INTO chain_members (member_id, invite_code, joined_at) VALUES ('{id}', 'INVITE{i}', 0);",
                i.to_string().repeat(64)
            ));
        }
        sql.push_str(
            "UPDATE chain_members SET inviter = 'm-r' WHERE member_id = 'm-p';
             UPDATE chain_members SET inviter = 'm-p' WHERE member_id = 'm-x';
             UPDATE chain_members SET has_paid = 1 WHERE member_id = 'm-z';",
        );
        db.execute(&sql).unwrap();
        db
    }

    #[test]
    fn a_binding_reads_the_member_the_sharer_and_the_sharers_upline() {
        let db = network();
        let read = block_on(for_binding(&db, "m-y", "INVITE2")).unwrap();
        assert_eq!(read.member, Some((None, false)));
        assert_eq!(read.sharer.as_deref(), Some("m-x"));
        assert_eq!(read.sharer_upline, ["m-p", "m-r"]);
        assert_eq!(block_on(for_binding(&db, "m-z", "INVITE2")).unwrap().member, Some((None, true)));
        assert_eq!(block_on(for_binding(&db, "m-y", "NOSUCH9")).unwrap().sharer, None);
        assert_eq!(block_on(for_binding(&db, "m-nobody", "INVITE2")).unwrap().member, None);
    }

    #[test]
    fn two_bindings_from_one_reading_cannot_both_go_through() {
        let db = network();
        let read = block_on(for_binding(&db, "m-y", "INVITE2")).unwrap();
        assert_eq!(block_on(bind(&db, "m-y", "m-x", read.version, NOW)).unwrap(), Guarded::Written(()));
        // r under y would now close a circle, but a binding that read the network before y's
        // bound is refused by the version anyway.
        let stale = block_on(bind(&db, "m-r", "m-y", read.version, NOW)).unwrap();
        assert!(matches!(stale, Guarded::Lost(_)), "{stale:?}");
        let again = block_on(for_binding(&db, "m-y", "INVITE2")).unwrap();
        assert_eq!(again.member, Some((Some("m-x".to_owned()), false)));
        assert_eq!(again.version, read.version + 1);
        // A member that does not bind is still a visitor of the link, once.
        block_on(record_visit(&db, "m-x", "m-z", NOW)).unwrap();
        block_on(record_visit(&db, "m-x", "m-z", NOW)).unwrap();
        let count = statement!("SELECT count(*) AS n FROM chain_visits WHERE sharer = 'm-x'");
        let visits: Count = block_on(sql::run(&db, vec![count])).unwrap().first().unwrap().unwrap();
        assert_eq!(visits.n, 2, "y through its binding, z without one");
        let upline = block_on(for_binding(&db, "m-r", "INVITE3")).unwrap();
        assert_eq!(upline.sharer_upline, ["m-x", "m-p", "m-r"], "r is above y: the domain refuses it as a cycle");
    }
}
