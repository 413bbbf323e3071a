//! The distribution network's rows: what a binding and a payment read and write. The domain
//! decides whether a member binds (`chain21::binding::decide`) and what a payment does to the
//! network (`chain21::paying::pay`, with the footprint of what it read and changed); this
//! module reads what those need and writes what they decided, guarded per member: a write
//! checks the versions of the members, teams and links it read and moves the versions of those
//! it changed, so two changes conflict only when one changed what the other read, and the
//! payments of unrelated buyers never refuse each other. The rules' epoch
//! (`chain_network.version`) is checked too: publishing moves it.
//!
//! A payment's reads ride in the payment's read batch and its writes in its write batch: the
//! buyer's chain of inviters is one recursive query, so the depth of the tree costs no round
//! trip. Bulk rows travel as JSON objects with named fields.

use serde::{Deserialize, Serialize};
use serde_json::json;
use tandem_domain::chain21::engine::{Identity, MemberRecord};
use tandem_domain::chain21::events::Line;
use tandem_domain::chain21::paying::{Footprint, Network, NetworkChanges};
use tandem_domain::time::Timestamp;

use super::ledger;
use super::sql::{self, Database, Guarded, RACE_GUARDS, Results, Rows, Statement, StoreError, statement};

#[derive(Debug, Deserialize)]
struct MemberRow {
    inviter: Option<String>,
    has_paid: i64,
    version: i64,
}

#[derive(Debug, Deserialize)]
struct UplineRow {
    member_id: String,
    version: i64,
}

#[derive(Debug, Deserialize)]
struct VersionRow {
    version: i64,
}

/// The versions of one member's rows as read: its record, the GMV of the team it leads, the
/// conversion of its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct Versions {
    pub version: i64,
    pub team_version: i64,
    pub conversion_version: i64,
}

/// What a write does with one member's versions: each is checked against the value read
/// (`None`: not read, not checked) and moved by its bump.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
struct VersionGuard {
    id: String,
    v: Option<i64>,
    bump: i64,
    tv: Option<i64>,
    tbump: i64,
    cv: Option<i64>,
    cbump: i64,
}

/// The statement that checks and moves members' versions: a version found other than as read
/// is written NULL, which the NOT NULL refuses (`chain_members.version`, `.team_version`,
/// `.conversion_version` in [`RACE_GUARDS`]), so the whole batch is refused.
fn versions_guard(guards: &[VersionGuard]) -> Result<Statement, StoreError> {
    let json = serde_json::to_string(guards).map_err(StoreError::failed)?;
    Ok(statement!(
        "UPDATE chain_members SET
             version = CASE WHEN g.value ->> '$.v' IS NULL OR version = g.value ->> '$.v'
                            THEN version + (g.value ->> '$.bump') END,
             team_version = CASE WHEN g.value ->> '$.tv' IS NULL OR team_version = g.value ->> '$.tv'
                                 THEN team_version + (g.value ->> '$.tbump') END,
             conversion_version = CASE WHEN g.value ->> '$.cv' IS NULL OR conversion_version = g.value ->> '$.cv'
                                       THEN conversion_version + (g.value ->> '$.cbump') END
         FROM json_each(?1) AS g WHERE chain_members.member_id = g.value ->> '$.id'",
        json
    ))
}

/// The statement that finds the rules' epoch as read (publishing moves it).
fn epoch_guard(epoch: i64) -> Statement {
    statement!("UPDATE chain_network SET version = CASE WHEN version = ?1 THEN version END WHERE id = 1", epoch)
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
    /// The versions of the member, the sharer and its upline as read: the binding's guard.
    versions: Vec<(String, i64)>,
}

/// Reads what binding `member_id` to the owner of `code` needs, in one round trip.
pub async fn for_binding<D: Database>(db: &D, member_id: &str, code: &str) -> Result<ForBinding, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!("SELECT inviter, has_paid, version FROM chain_members WHERE member_id = ?1", member_id),
            statement!(
                "WITH RECURSIVE up(id, depth) AS (
                     SELECT member_id, 0 FROM chain_members WHERE invite_code = ?1
                     UNION ALL SELECT m.inviter, up.depth + 1 FROM chain_members m JOIN up ON m.member_id = up.id
                     WHERE m.inviter IS NOT NULL AND up.depth < 100000)
                 SELECT member_id, version FROM up JOIN chain_members ON member_id = up.id ORDER BY depth",
                code
            ),
        ],
    )
    .await?;
    let member = results.first::<MemberRow>()?;
    let upline = results.all::<UplineRow>()?;
    let versions = member
        .iter()
        .map(|row| (member_id.to_owned(), row.version))
        .chain(upline.iter().filter(|row| row.member_id != member_id).map(|row| (row.member_id.clone(), row.version)))
        .collect();
    let mut upline = upline.into_iter().map(|row| row.member_id);
    let sharer = upline.next();
    Ok(ForBinding {
        member: member.map(|row| (row.inviter, row.has_paid != 0)),
        sharer,
        sharer_upline: upline.collect(),
        versions,
    })
}

/// Binds `member_id` to `sharer` as decided on `read`: the binding, the member's visit to the
/// sharer's link, the member's version moved and the sharer's chain checked. `Lost` when the
/// member or the chain above it changed since it was read (the caller reads and decides again).
pub async fn bind<D: Database>(
    db: &D,
    read: &ForBinding,
    member_id: &str,
    sharer: &str,
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let guards: Vec<VersionGuard> = read
        .versions
        .iter()
        .map(|(id, version)| VersionGuard {
            id: id.clone(),
            v: Some(*version),
            bump: i64::from(id == member_id),
            ..VersionGuard::default()
        })
        .collect();
    let statements: Vec<Statement> = vec![
        versions_guard(&guards)?,
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
    #[serde(flatten)]
    versions: Versions,
}

const PLACE_COLUMNS: &str = "member_id, identity, inviter, fixed, fixed_leader, origin_leader, \
     qualifying_directs, ever_qualified, spend_fen, has_paid, last_paid_at, version, team_version, conversion_version";

impl PlaceRow {
    fn record(self) -> Result<(MemberRecord, Versions), StoreError> {
        let versions = self.versions;
        let record = MemberRecord {
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
        };
        Ok((record, versions))
    }
}

#[derive(Deserialize)]
struct SharerRow {
    sharer: String,
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

/// What a payment read of the network: the network for the domain, the versions of its chain
/// and the rules' epoch (the write's guards), and the paid orders' lines as the network counts
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForPayment {
    pub network: Network,
    epoch: i64,
    versions: Vec<(String, Versions)>,
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
/// `param` as `?1`: the published rules, the rules' epoch, the buyer's chain with its versions,
/// the chain's team GMVs over the rules' peer period, its sharers' conversion over the rules'
/// window, the sharers the buyer visited in that window, and the lines.
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
    let visited = format!(
        "SELECT DISTINCT sharer FROM chain_visits WHERE visitor = {buyer_sql} AND at > {} ORDER BY sharer",
        since("conversion_window_days")
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
        statement!(visited, param, now.millis()),
        statement!(lines, param),
    ]
}

/// What [`payment_reads`] read, taken next from `results`.
pub fn payment_read_from<R: Rows>(results: &mut Results<R>) -> Result<ForPayment, StoreError> {
    let rules = super::rules::published_from(results)?;
    let epoch = results.first::<VersionRow>()?.map_or(0, |v| v.version);
    let (chain, versions): (Vec<MemberRecord>, Vec<Versions>) = results
        .all::<PlaceRow>()?
        .into_iter()
        .map(PlaceRow::record)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .unzip();
    let versions = chain.iter().map(|m| m.id.clone()).zip(versions).collect();
    let team_gmv = results.all::<GmvRow>()?.into_iter().map(|g| (g.team_leader, g.gmv_fen)).collect();
    let conversion = results
        .all::<ConversionRow>()?
        .into_iter()
        .map(|c| (c.sharer, u64::try_from(c.visitors).unwrap_or(0), u64::try_from(c.converted).unwrap_or(0)))
        .collect();
    let visited = results.all::<SharerRow>()?.into_iter().map(|v| v.sharer).collect();
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
    Ok(ForPayment { network: Network { rules, chain, team_gmv, conversion, visited }, epoch, versions, lines })
}

/// The guard of member `id` in `guards`, added when it has none yet.
fn entry<'a>(guards: &'a mut Vec<VersionGuard>, id: &str) -> &'a mut VersionGuard {
    let at = guards.iter().position(|g| g.id == id).unwrap_or_else(|| {
        guards.push(VersionGuard { id: id.to_owned(), ..VersionGuard::default() });
        guards.len() - 1
    });
    &mut guards[at]
}

/// The guard of what a payment changed: the rules' epoch and, per member, the versions its
/// decisions read checked and the versions of what it changed moved.
fn payment_guard(read: &ForPayment, footprint: &Footprint) -> Result<Vec<Statement>, StoreError> {
    let Footprint { read: looked, changed } = footprint;
    let versions = |id: &str| read.versions.iter().find(|(m, _)| m == id).map(|(_, v)| *v);
    let mut guards: Vec<VersionGuard> = Vec::new();
    for id in &looked.members {
        entry(&mut guards, id).v = versions(id).map(|v| v.version);
    }
    for id in &looked.teams {
        entry(&mut guards, id).tv = versions(id).map(|v| v.team_version);
    }
    for id in &looked.conversions {
        entry(&mut guards, id).cv = versions(id).map(|v| v.conversion_version);
    }
    for id in &changed.members {
        entry(&mut guards, id).bump = 1;
    }
    for id in &changed.teams {
        entry(&mut guards, id).tbump = 1;
    }
    for id in &changed.conversions {
        entry(&mut guards, id).cbump = 1;
    }
    Ok(vec![epoch_guard(read.epoch), versions_guard(&guards)?])
}

/// The writes of what a payment did to the network, as `read`: the guard, the buyer's place
/// when it had none (with `invite_code`; a place made meanwhile refuses the batch), the changed
/// members, the orders as the network saw them, the rewards and their ledger transactions.
pub fn payment_writes(
    read: &ForPayment,
    buyer: &str,
    invite_code: &str,
    changes: &NetworkChanges,
    now: Timestamp,
) -> Result<Vec<Statement>, StoreError> {
    let mut writes = Vec::new();
    if changes.buyer_joins {
        writes.push(statement!(
            "INSERT INTO chain_members (member_id, invite_code, joined_at) VALUES (?1, ?2, ?3)",
            buyer,
            invite_code,
            now.millis()
        ));
    }
    writes.extend(payment_guard(read, &changes.footprint)?);
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

    fn fixture_member(id: &str, i: usize) -> String {
        format!(
            "INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES ('{id}', '{}', 'x', 0);
             INSERT INTO chain_members (member_id, invite_code, joined_at) VALUES ('{id}', 'INVITE{i}', 0);",
            i.to_string().repeat(64)
        )
    }

    /// r ← p ← x (x invited by p, p by r); y and z unbound, z has paid.
    fn network() -> Sqlite {
        let db = Sqlite::migrated().unwrap();
        let mut sql = String::new();
        for (i, id) in ["m-r", "m-p", "m-x", "m-y", "m-z"].iter().enumerate() {
            sql.push_str(&fixture_member(id, i));
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
    fn bindings_that_read_what_another_changed_are_refused_and_unrelated_ones_are_not() {
        let db = network();
        // y binds to x; r, read before, would bind to y: r's read of y's chain is stale.
        let read_y = block_on(for_binding(&db, "m-y", "INVITE2")).unwrap();
        let read_r = block_on(for_binding(&db, "m-r", "INVITE3")).unwrap();
        assert_eq!(block_on(bind(&db, &read_y, "m-y", "m-x", NOW)).unwrap(), Guarded::Written(()));
        let stale = block_on(bind(&db, &read_r, "m-r", "m-y", NOW)).unwrap();
        assert_eq!(stale, Guarded::Lost(sql::Constraint::NotNull("chain_members.version".into())));
        let again = block_on(for_binding(&db, "m-y", "INVITE2")).unwrap();
        assert_eq!(again.member, Some((Some("m-x".to_owned()), false)));
        assert!(matches!(block_on(bind(&db, &read_y, "m-y", "m-x", NOW)).unwrap(), Guarded::Lost(_)), "once");
        // Two members read at once binding to the same sharer change nothing the other read.
        let db = network();
        db.execute(&fixture_member("m-w", 5)).unwrap();
        let read_y = block_on(for_binding(&db, "m-y", "INVITE2")).unwrap();
        let read_w = block_on(for_binding(&db, "m-w", "INVITE2")).unwrap();
        assert_eq!(block_on(bind(&db, &read_y, "m-y", "m-x", NOW)).unwrap(), Guarded::Written(()));
        assert_eq!(block_on(bind(&db, &read_w, "m-w", "m-x", NOW)).unwrap(), Guarded::Written(()));
        // A member that does not bind is still a visitor of the link, once.
        block_on(record_visit(&db, "m-x", "m-z", NOW)).unwrap();
        block_on(record_visit(&db, "m-x", "m-z", NOW)).unwrap();
        let count = statement!("SELECT count(*) AS n FROM chain_visits WHERE sharer = 'm-x'");
        let visits: Count = block_on(sql::run(&db, vec![count])).unwrap().first().unwrap().unwrap();
        assert_eq!(visits.n, 3, "y and w through their bindings, z without one");
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
        read_order(db, "o-1", now)
    }

    fn read_order(db: &Sqlite, order: &str, now: Timestamp) -> ForPayment {
        let reads = payment_reads(
            "SELECT id FROM orders WHERE checkout_id = ?1",
            "(SELECT member_id FROM checkouts WHERE id = ?1)",
            &format!("co-{order}"),
            now,
        );
        payment_read_from(&mut block_on(sql::run(db, reads)).unwrap()).unwrap()
    }

    fn paid(read: &ForPayment) -> Vec<PaidOrder> {
        paid_order(read, "o-1")
    }

    fn paid_order(read: &ForPayment, order: &str) -> Vec<PaidOrder> {
        vec![PaidOrder { id: order.into(), store: StoreId::parse("s-1").unwrap(), lines: read.lines_of(order) }]
    }

    /// `buyer` pays `order` as read in `read`: the guarded batch's outcome.
    fn write_payment(db: &Sqlite, read: &ForPayment, buyer: &str, order: &str) -> Guarded<()> {
        let changes = paying::pay(&read.network, buyer, &paid_order(read, order), NOW).unwrap();
        let writes = payment_writes(read, buyer, "UNUSED1", &changes, NOW).unwrap();
        block_on(sql::guarded(db, writes, RACE_GUARDS)).unwrap().map(|_| ())
    }

    #[test]
    fn payments_conflict_only_when_one_changed_what_the_other_read() {
        // r ← p ← b and p ← c, r ← d: p and r are agents.
        let db = paying();
        fixtures::member(&db, "m-c", "CODEC1", Some("m-p"));
        fixtures::member(&db, "m-d", "CODED1", Some("m-r"));
        fixtures::member(&db, "m-e", "CODEE1", None);
        for (order, buyer) in [("o-2", "m-c"), ("o-3", "m-d"), ("o-4", "m-e")] {
            fixtures::order(&db, order, buyer, "awaiting_payment", 1);
        }
        db.execute("UPDATE chain_members SET identity = 'agent', has_paid = 1 WHERE member_id IN ('m-p', 'm-r')")
            .unwrap();
        fixtures::publish(&db, &Rules::chain21());
        // Plain purchases read at once: b and c under the same sharer, d under another, e under
        // nobody. None changes what another read (the sharers' records stay as they were).
        let reads: Vec<(ForPayment, &str, &str)> = [("o-1", "m-b"), ("o-2", "m-c"), ("o-3", "m-d"), ("o-4", "m-e")]
            .into_iter()
            .map(|(order, buyer)| (read_order(&db, order, NOW), buyer, order))
            .collect();
        for (read, buyer, order) in &reads {
            assert_eq!(write_payment(&db, read, buyer, order), Guarded::Written(()), "{buyer}");
        }
        // Replayed, each is refused: its buyer's record moved.
        let (read, buyer, order) = &reads[0];
        assert_eq!(
            write_payment(&db, read, buyer, order),
            Guarded::Lost(sql::Constraint::NotNull("chain_members.version".into()))
        );
    }

    #[test]
    fn two_directs_qualifying_at_once_cannot_both_be_their_inviters_first() {
        // p is an agent with no qualifying direct; b and c, both p's, buy the designated cup.
        let db = paying();
        fixtures::member(&db, "m-c", "CODEC1", Some("m-p"));
        fixtures::order(&db, "o-2", "m-c", "awaiting_payment", 1);
        db.execute(
            "UPDATE chain_members SET identity = 'agent', has_paid = 1 WHERE member_id = 'm-p';
             UPDATE products SET designated = 1 WHERE id = 'p-1';",
        )
        .unwrap();
        fixtures::publish(&db, &Rules::chain21());
        let read_b = read_order(&db, "o-1", NOW);
        let read_c = read_order(&db, "o-2", NOW);
        assert_eq!(write_payment(&db, &read_b, "m-b", "o-1"), Guarded::Written(()));
        assert!(matches!(write_payment(&db, &read_c, "m-c", "o-2"), Guarded::Lost(_)), "p's count moved");
        // Read again, c is p's second qualifying direct.
        let read_c = read_order(&db, "o-2", NOW);
        assert_eq!(read_c.network.chain[1].qualifying_directs, 1);
        assert_eq!(write_payment(&db, &read_c, "m-c", "o-2"), Guarded::Written(()));
        assert_eq!(read_order(&db, "o-2", NOW).network.chain[1].qualifying_directs, 2);
    }

    #[test]
    fn publishing_rules_refuses_a_payment_read_under_the_rules_before() {
        let db = paying();
        fixtures::publish(&db, &Rules::chain21());
        let read = read_paying(&db, NOW);
        db.execute("UPDATE chain_network SET version = version + 1").unwrap();
        assert_eq!(
            write_payment(&db, &read, "m-b", "o-1"),
            Guarded::Lost(sql::Constraint::NotNull("chain_network.version".into()))
        );
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
    fn what_a_payment_did_to_the_network_is_written_once_under_the_versions_it_read() {
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
        let writes = payment_writes(&read, "m-b", "UNUSED1", &changes, NOW).unwrap();
        assert!(block_on(sql::guarded(&db, writes.clone(), RACE_GUARDS)).unwrap().written());
        // The same payment written again from the same reading is refused whole.
        let again = block_on(sql::guarded(&db, writes, RACE_GUARDS)).unwrap().map(|_| ());
        assert_eq!(again, Guarded::Lost(sql::Constraint::NotNull("chain_members.version".into())));
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
        let versions = |read: &ForPayment| read.versions.iter().map(|(_, v)| v.version).collect::<Vec<_>>();
        assert_eq!(versions(&read_paying(&db, NOW)), [1, 0, 0], "the buyer's record moved, its inviters' did not");
    }
}
