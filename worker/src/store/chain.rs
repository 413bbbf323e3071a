//! The distribution network's rows: what a binding and a payment read and write. The domain
//! decides whether a member binds (`chain21::binding::decide`) and what a payment does to the
//! network (`chain21::paying::pay`); this module reads what those need and writes what they
//! decided, guarded by the network's version as it was read, so two changes that read the same
//! network cannot both go through.
//!
//! A payment's reads ride in the payment's read batch and its writes in its write batch: the
//! buyer's chain of inviters is one recursive query, so the depth of the tree costs no round
//! trip. Bulk rows travel as JSON objects with named fields.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::chain21::engine::{Identity, MemberRecord};
use tandem_domain::chain21::events::Line;
use tandem_domain::chain21::paying::{Network, NetworkChanges};
use tandem_domain::time::Timestamp;

use super::ledger;
use super::sql::{self, Database, Guarded, RACE_GUARDS, Results, Rows, Statement, StoreError, statement};

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
    Ok(sql::guarded(db, statements, RACE_GUARDS).await?.map(|_| ()))
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

/// The statement that gives `member` a place in the network, with `invite_code`, if it has none.
pub fn ensure_member(member: &str, invite_code: &str, now: Timestamp) -> Statement {
    statement!(
        "INSERT INTO chain_members (member_id, invite_code, joined_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (member_id) DO NOTHING",
        member,
        invite_code,
        now.millis()
    )
}

/// The statement sign-in adds to its batch: a place in the network for the member of phone
/// hash `lookup`, if it has none.
pub fn ensure_member_of_phone(lookup: &str, invite_code: &str, now: Timestamp) -> Statement {
    statement!(
        "INSERT INTO chain_members (member_id, invite_code, joined_at)
         SELECT id, ?2, ?3 FROM members WHERE phone_hash = ?1
         ON CONFLICT (member_id) DO NOTHING",
        lookup,
        invite_code,
        now.millis()
    )
}

#[derive(Debug, Deserialize)]
struct PlaceRow {
    member_id: String,
    identity: String,
    inviter: Option<String>,
    fixed: i64,
    fixed_leader: Option<String>,
    origin_leader: Option<String>,
    qualifying_directs: i64,
    ever_qualified: i64,
    spend_fen: i64,
    has_paid: i64,
    last_paid_at: Option<i64>,
}

const PLACE_COLUMNS: &str = "member_id, identity, inviter, fixed, fixed_leader, origin_leader, \
     qualifying_directs, ever_qualified, spend_fen, has_paid, last_paid_at";

impl PlaceRow {
    fn record(self) -> Result<MemberRecord, StoreError> {
        Ok(MemberRecord {
            identity: Identity::parse(&self.identity).ok_or_else(|| {
                StoreError::failed(format!("{} has the unknown identity {}", self.member_id, self.identity))
            })?,
            id: self.member_id,
            inviter: self.inviter,
            fixed: self.fixed != 0,
            fixed_leader: self.fixed_leader,
            origin_leader: self.origin_leader,
            qualifying_directs: u32::try_from(self.qualifying_directs).map_err(StoreError::failed)?,
            ever_qualified: self.ever_qualified != 0,
            spend_fen: self.spend_fen,
            has_paid: self.has_paid != 0,
            last_paid_at: self.last_paid_at.map(Timestamp),
        })
    }
}

#[derive(Deserialize)]
struct GmvRow {
    team_leader: String,
    gmv_fen: i64,
}

#[derive(Deserialize)]
struct ConversionRow {
    sharer: String,
    visitors: i64,
    converted: i64,
}

#[derive(Deserialize)]
struct LineRow {
    order_id: String,
    sku_id: String,
    amount_fen: i64,
    designated: i64,
    commissionable: i64,
}

/// What a payment read of the network: the network for the domain, its version (the write's
/// guard) and the paid orders' lines as the network counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForPayment {
    pub network: Network,
    pub version: i64,
    lines: Vec<(String, Line)>,
}

impl ForPayment {
    /// The lines of one paid order.
    pub fn lines_of(&self, order_id: &str) -> Vec<Line> {
        self.lines.iter().filter(|(order, _)| order == order_id).map(|(_, line)| line.clone()).collect()
    }
}

/// The reads of the network for a payment of the orders of `orders_sql` (a subquery of order
/// ids over `?1`) bought by `buyer_sql` (a subquery giving one member id, also over `?1`), with
/// `param` as `?1`: the published rules, the version, the buyer's chain, the chain's team GMVs
/// over the rules' peer period, its sharers' conversion over the rules' window, and the lines.
pub fn payment_reads(orders_sql: &str, buyer_sql: &str, param: &str, now: Timestamp) -> Vec<Statement> {
    let since = |column: &str| {
        format!("?2 - coalesce((SELECT {column} FROM chain_rules WHERE state = 'published'), 30) * 86400000")
    };
    let chain = format!(
        "WITH RECURSIVE up(id, depth) AS (
             SELECT member_id, 0 FROM chain_members WHERE member_id = {buyer_sql}
             UNION ALL
             SELECT m.inviter, up.depth + 1 FROM chain_members m JOIN up ON m.member_id = up.id
             WHERE m.inviter IS NOT NULL AND up.depth < 100000)
         SELECT {PLACE_COLUMNS} FROM up JOIN chain_members ON member_id = up.id ORDER BY up.depth"
    );
    let gmv = format!(
        "WITH RECURSIVE up(id) AS (
             SELECT member_id FROM chain_members WHERE member_id = {buyer_sql}
             UNION ALL SELECT m.inviter FROM chain_members m JOIN up ON m.member_id = up.id
             WHERE m.inviter IS NOT NULL)
         SELECT team_leader, sum(base_left_fen) AS gmv_fen FROM chain_orders
         WHERE team_leader IN (SELECT id FROM up) AND paid_at > {}
         GROUP BY team_leader",
        since("team_period_days")
    );
    let conversion = format!(
        "SELECT v.sharer, count(DISTINCT v.visitor) AS visitors,
                count(DISTINCT CASE WHEN m.last_paid_at > {since} THEN v.visitor END) AS converted
         FROM chain_visits v LEFT JOIN chain_members m ON m.member_id = v.visitor
         WHERE v.at > {since} AND v.sharer IN (
             SELECT {buyer_sql} UNION SELECT inviter FROM chain_members WHERE member_id = {buyer_sql})
         GROUP BY v.sharer",
        since = since("conversion_window_days")
    );
    let lines = format!(
        "SELECT l.order_id, l.sku_id, l.price_fen * l.quantity AS amount_fen, p.designated, p.commissionable
         FROM order_lines l JOIN products p ON p.id = l.product_id
         WHERE l.order_id IN ({orders_sql}) ORDER BY l.order_id, l.position"
    );
    vec![
        super::rules::published_read(),
        statement!("SELECT version FROM chain_network WHERE id = 1"),
        statement!(chain, param),
        statement!(gmv, param, now.millis()),
        statement!(conversion, param, now.millis()),
        statement!(lines, param),
    ]
}

/// What [`payment_reads`] read, taken next from `results`.
pub fn payment_read_from<R: Rows>(results: &mut Results<R>) -> Result<ForPayment, StoreError> {
    let rules = super::rules::published_from(results)?;
    let version = results.first::<VersionRow>()?.map_or(0, |v| v.version);
    let chain = results.all::<PlaceRow>()?.into_iter().map(PlaceRow::record).collect::<Result<Vec<_>, _>>()?;
    let team_gmv = results.all::<GmvRow>()?.into_iter().map(|g| (g.team_leader, g.gmv_fen)).collect();
    let conversion = results
        .all::<ConversionRow>()?
        .into_iter()
        .map(|c| (c.sharer, u64::try_from(c.visitors).unwrap_or(0), u64::try_from(c.converted).unwrap_or(0)))
        .collect();
    let lines = results
        .all::<LineRow>()?
        .into_iter()
        .map(|l| {
            let line = Line {
                sku: l.sku_id,
                amount_fen: l.amount_fen,
                designated: l.designated != 0,
                commissionable: l.commissionable != 0,
            };
            (l.order_id, line)
        })
        .collect();
    Ok(ForPayment { network: Network { rules, chain, team_gmv, conversion }, version, lines })
}

/// The writes of what a payment did to the network, read at `version`: the guard, the buyer's
/// place when it had none (with `invite_code`), the changed members, the orders as the network
/// saw them, the rewards and their ledger transactions.
pub fn payment_writes(
    version: i64,
    buyer: &str,
    invite_code: &str,
    changes: &NetworkChanges,
    now: Timestamp,
) -> Result<Vec<Statement>, StoreError> {
    let mut writes = vec![statement!(
        "UPDATE chain_network SET version = CASE WHEN version = ?1 THEN version + 1 END WHERE id = 1",
        version
    )];
    if changes.buyer_joins {
        writes.push(ensure_member(buyer, invite_code, now));
    }
    for (order_id, transaction) in &changes.transactions {
        let id = format!("t-reward-{order_id}");
        writes.extend(ledger::post(&id, "reward", &format!("reward:{order_id}"), Some(order_id), now, transaction)?);
    }
    let members: Vec<serde_json::Value> = changes.members.iter().map(member_json).collect();
    writes.push(statement!(
        "UPDATE chain_members SET identity = c.value ->> '$.identity', fixed = c.value ->> '$.fixed',
             fixed_leader = c.value ->> '$.fixed_leader', origin_leader = c.value ->> '$.origin_leader',
             qualifying_directs = c.value ->> '$.qualifying_directs',
             ever_qualified = c.value ->> '$.ever_qualified', spend_fen = c.value ->> '$.spend_fen',
             has_paid = c.value ->> '$.has_paid', last_paid_at = c.value ->> '$.last_paid_at',
             qualifying_order = CASE WHEN member_id = ?3 AND ?2 IS NOT NULL THEN ?2 ELSE qualifying_order END
         FROM json_each(?1) AS c WHERE chain_members.member_id = c.value ->> '$.id'",
        serde_json::Value::Array(members).to_string(),
        changes.qualifying_order.as_deref(),
        buyer
    ));
    let Some(rules_version) = changes.rules_version else { return Ok(writes) };
    let orders: Vec<serde_json::Value> = changes
        .orders
        .iter()
        .map(|o| {
            json!({"order_id": o.order_id, "store_id": o.store.as_str(), "base_fen": o.base_fen, "team_leader": o.team_leader})
        })
        .collect();
    writes.push(statement!(
        "INSERT INTO chain_orders (order_id, store_id, base_fen, base_left_fen, team_leader, buyer, rules_version, paid_at)
         SELECT value ->> '$.order_id', value ->> '$.store_id', value ->> '$.base_fen', value ->> '$.base_fen',
                value ->> '$.team_leader', ?2, ?3, ?4
         FROM json_each(?1)",
        serde_json::Value::Array(orders).to_string(),
        buyer,
        i64::from(rules_version),
        now.millis()
    ));
    let rewards: Vec<serde_json::Value> = changes
        .rewards
        .iter()
        .map(|r| {
            json!({
                "order_id": r.order_id,
                "beneficiary": r.beneficiary,
                "kind": r.kind.as_str(),
                "generation": r.generation,
                "position": r.position,
                "rate_bp": r.rate_bp,
                "of_team_bp": r.of_team_bp,
                "amount_fen": r.amount_fen,
            })
        })
        .collect();
    writes.push(statement!(
        "INSERT INTO chain_rewards (order_id, beneficiary, kind, generation, position, rate_bp, of_team_bp, amount_fen,
             state, rules_version, posted_at)
         SELECT value ->> '$.order_id', value ->> '$.beneficiary', value ->> '$.kind', value ->> '$.generation',
                value ->> '$.position', value ->> '$.rate_bp', value ->> '$.of_team_bp', value ->> '$.amount_fen',
                'pending', ?2, ?3
         FROM json_each(?1)",
        serde_json::Value::Array(rewards).to_string(),
        i64::from(rules_version),
        now.millis()
    ));
    Ok(writes)
}

fn member_json(record: &MemberRecord) -> serde_json::Value {
    json!({
        "id": record.id,
        "identity": record.identity.as_str(),
        "fixed": i64::from(record.fixed),
        "fixed_leader": record.fixed_leader,
        "origin_leader": record.origin_leader,
        "qualifying_directs": record.qualifying_directs,
        "ever_qualified": i64::from(record.ever_qualified),
        "spend_fen": record.spend_fen,
        "has_paid": i64::from(record.has_paid),
        "last_paid_at": record.last_paid_at.map(Timestamp::millis),
    })
}

#[cfg(test)]
mod tests {
    use tandem_domain::catalog::StoreId;
    use tandem_domain::chain21::paying::{self, PaidOrder};
    use tandem_domain::chain21::rules::Rules;

    use super::*;
    use crate::store::fixtures;
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
    /// r ← p ← b in store s-1's catalogue; b's order o-1 of two cups (500 fen) is being paid.
    fn paying() -> Sqlite {
        let db = fixtures::catalogue();
        fixtures::member(&db, "m-r", "CODER1", None);
        fixtures::member(&db, "m-p", "CODEP1", Some("m-r"));
        fixtures::member(&db, "m-b", "CODEB1", Some("m-p"));
        fixtures::order(&db, "o-1", "m-b", "awaiting_payment", 2);
        db
    }

    fn read_paying(db: &Sqlite, now: Timestamp) -> ForPayment {
        let reads = payment_reads(
            "SELECT id FROM orders WHERE checkout_id = ?1",
            "(SELECT member_id FROM checkouts WHERE id = ?1)",
            "co-o-1",
            now,
        );
        payment_read_from(&mut block_on(sql::run(db, reads)).unwrap()).unwrap()
    }

    fn paid(read: &ForPayment) -> Vec<PaidOrder> {
        vec![PaidOrder { id: "o-1".into(), store: StoreId::parse("s-1").unwrap(), lines: read.lines_of("o-1") }]
    }

    #[test]
    fn a_payment_reads_the_buyers_chain_and_the_windows_of_the_published_rules() {
        let db = paying();
        let day = 86_400_000;
        db.execute(&format!(
            "INSERT INTO chain_visits (sharer, visitor, at) VALUES ('m-p', 'anon:1', {}), ('m-p', 'anon:2', {});",
            NOW.millis() - 3 * day,
            NOW.millis() - 20 * day
        ))
        .unwrap();
        let before = read_paying(&db, NOW);
        assert_eq!(before.network.rules, None);
        let ids: Vec<&str> = before.network.chain.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["m-b", "m-p", "m-r"], "the buyer, then its inviters up to the root");
        assert_eq!(before.network.conversion, [("m-p".to_owned(), 2, 0)], "30 days without rules");
        assert_eq!(before.lines_of("o-1").iter().map(|l| l.amount_fen).sum::<i64>(), 500);
        let mut rules = Rules::chain21();
        rules.dynamic.window_days = 7;
        fixtures::publish(&db, &rules);
        let after = read_paying(&db, NOW);
        assert_eq!(after.network.rules.as_ref().map(|(v, _)| *v), Some(rules.version));
        assert_eq!(after.network.conversion, [("m-p".to_owned(), 1, 0)], "the rules' own window");
    }

    #[test]
    fn what_a_payment_did_to_the_network_is_written_once_under_the_version_it_read() {
        #[derive(Deserialize)]
        struct Posted {
            rewards: i64,
            base_fen: i64,
            has_paid: i64,
            entries: i64,
        }
        let db = paying();
        db.execute("UPDATE chain_members SET identity = 'agent', has_paid = 1 WHERE member_id IN ('m-p', 'm-r')")
            .unwrap();
        fixtures::publish(&db, &Rules::chain21());
        let read = read_paying(&db, NOW);
        let changes = paying::pay(&read.network, "m-b", &paid(&read), NOW).unwrap();
        assert!(!changes.rewards.is_empty(), "p, an agent, earns from b's order");
        let writes = payment_writes(read.version, "m-b", "UNUSED1", &changes, NOW).unwrap();
        assert!(block_on(sql::guarded(&db, writes.clone(), RACE_GUARDS)).unwrap().written());
        // A second payment that read the network at the same version is refused whole.
        let again = block_on(sql::guarded(&db, writes, RACE_GUARDS)).unwrap().map(|_| ());
        assert_eq!(again, Guarded::Lost(sql::Constraint::NotNull("chain_network.version".into())));
        let posted = statement!(
            "SELECT (SELECT count(*) FROM chain_rewards WHERE order_id = 'o-1') AS rewards,
                    (SELECT base_fen FROM chain_orders WHERE order_id = 'o-1') AS base_fen,
                    (SELECT has_paid FROM chain_members WHERE member_id = 'm-b') AS has_paid,
                    (SELECT count(*) FROM ledger_entries WHERE transaction_id = 't-reward-o-1') AS entries"
        );
        let posted: Posted = block_on(sql::run(&db, vec![posted])).unwrap().first().unwrap().unwrap();
        assert_eq!(posted.rewards, i64::try_from(changes.rewards.len()).unwrap());
        assert_eq!(posted.base_fen, 500);
        assert_eq!(posted.has_paid, 1);
        assert!(posted.entries >= 2);
        assert_eq!(read_paying(&db, NOW).version, read.version + 1);
    }
}
