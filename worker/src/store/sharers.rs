//! The sharer centre's rows: a member's place, earnings, balances and withdrawals, the team
//! listings with the counts their metrics are made of, the operator's search of the tree, and
//! the rows a poster names. The domain defines the metrics (`api::sharers::TeamMember::of`)
//! and decides withdrawals (`chain21::settle`); this module counts and writes.

use serde::Deserialize;
use tandem_domain::api::sharers::{Balances, Reward, TeamCounts, TeamPlace, Withdrawal};
use tandem_domain::chain21::engine::Bucket;
use tandem_domain::chain21::rules::Rules;
use tandem_domain::chain21::settle::WithdrawalState;
use tandem_domain::ledger::Transaction;
use tandem_domain::time::Timestamp;

use super::chain::ensure_member;
use super::sql::{self, Database, Guarded, RACE_GUARDS, Results, Rows, Statement, StoreError, statement, stored};
use super::{ledger, rules};

const WITHDRAWAL_COLUMNS: &str = "id, member_id, amount_fen, state, requested_at, decided_at, note";

/// A member's place in the network, as the sharer centre shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Place {
    pub invite_code: String,
    pub identity: String,
    pub inviter: Option<String>,
    pub qualifying_directs: i64,
    pub joined_at: i64,
    pub display_name: Option<String>,
}

/// What the sharer centre reads of a member, in one round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Centre {
    pub place: Place,
    /// The newest 100.
    pub rewards: Vec<Reward>,
    /// What the published rules ask of an agent to become a partner.
    pub required_directs: Option<i64>,
    pub balances: Balances,
    /// The newest 50.
    pub withdrawals: Vec<Withdrawal>,
}

const BUCKETS: [Bucket; 5] = [Bucket::Pending, Bucket::Frozen, Bucket::Available, Bucket::Withdrawing, Bucket::PaidOut];

fn account(member: &str, bucket: Bucket) -> String {
    format!("member:{member}:{}", bucket.as_str())
}

/// The member's balances by bucket, from the ledger: the one place money is counted.
fn balances_read(member: &str) -> Result<Statement, StoreError> {
    let accounts: Vec<String> = BUCKETS.iter().map(|&b| account(member, b)).collect();
    Ok(statement!(
        "SELECT account, sum(credit_fen) - sum(debit_fen) AS fen FROM ledger_entries
         WHERE account IN (SELECT value FROM json_each(?1)) GROUP BY account",
        serde_json::to_string(&accounts).map_err(StoreError::failed)?
    ))
}

#[derive(Deserialize)]
struct BucketRow {
    account: String,
    fen: i64,
}

fn balances_from<R: Rows>(results: &mut Results<R>, member: &str) -> Result<Balances, StoreError> {
    let rows: Vec<BucketRow> = results.all()?;
    let of = |bucket| rows.iter().find(|r| r.account == account(member, bucket)).map_or(0, |r| r.fen);
    Ok(Balances {
        pending_fen: of(Bucket::Pending),
        frozen_fen: of(Bucket::Frozen),
        available_fen: of(Bucket::Available),
        withdrawing_fen: of(Bucket::Withdrawing),
        paid_out_fen: of(Bucket::PaidOut),
    })
}

/// The sharer centre of `member`, giving it a place in the network (with `fresh_code`) if it
/// has none.
pub async fn centre<D: Database>(db: &D, member: &str, fresh_code: &str, now: Timestamp) -> Result<Centre, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            ensure_member(member, fresh_code, now),
            statement!(
                "SELECT invite_code, identity, inviter, qualifying_directs, joined_at, display_name
                 FROM chain_members WHERE member_id = ?1",
                member
            ),
            statement!(
                "SELECT order_id, kind, generation, amount_fen, state, thaw_at, voided_fen, clawback_fen,
                        rules_version, posted_at
                 FROM chain_rewards WHERE beneficiary = ?1 ORDER BY posted_at DESC, order_id, position LIMIT 100",
                member
            ),
            rules::published_read(),
            balances_read(member)?,
            statement!(
                format!(
                    "SELECT {WITHDRAWAL_COLUMNS} FROM chain_withdrawals WHERE member_id = ?1
                     ORDER BY requested_at DESC LIMIT 50"
                ),
                member
            ),
        ],
    )
    .await?;
    results.changes()?;
    let place = results.first::<Place>()?.ok_or_else(|| StoreError::failed("no place in the network"))?;
    let rewards = results.all()?;
    let required_directs =
        rules::published_from(&mut results)?.map(|(_, r): (u32, Rules)| i64::from(r.upgrade.required_directs));
    let balances = balances_from(&mut results, member)?;
    let withdrawals = results.all()?;
    Ok(Centre { place, rewards, required_directs, balances, withdrawals })
}

/// Sets the name `member`'s poster and team show (`None`: its masked phone number).
pub async fn set_display_name<D: Database>(
    db: &D,
    member: &str,
    fresh_code: &str,
    name: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    sql::run(
        db,
        vec![
            ensure_member(member, fresh_code, now),
            statement!("UPDATE chain_members SET display_name = ?2 WHERE member_id = ?1", member, name),
        ],
    )
    .await?;
    Ok(())
}

/// Which members a team listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing<'a> {
    /// The directs of a member.
    DirectsOf(&'a str),
    /// Members without an inviter who have directs: the roots of the operator's tree.
    Roots,
    /// One member.
    One(&'a str),
}

/// A member of a team listing: its place, its sealed phone number (for the masked name) and
/// its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRow {
    pub place: TeamPlace,
    pub phone_sealed: String,
    pub counts: TeamCounts,
}

#[derive(Deserialize)]
struct NodeRow {
    member_id: String,
    display_name: Option<String>,
    phone_enc: String,
    identity: String,
    inviter: Option<String>,
    joined_at: i64,
    directs: i64,
    visitors: i64,
    converted: i64,
    new_paying_directs: i64,
    gmv_fen: i64,
}

/// The members of `listing` (at most 200, oldest first) with their counts over the period
/// that began at `since`, each as `TeamCounts` documents it.
pub async fn team<D: Database>(db: &D, listing: Listing<'_>, since: Timestamp) -> Result<Vec<TeamRow>, StoreError> {
    let (filter, param) = match listing {
        Listing::DirectsOf(parent) => ("c.inviter = ?1", parent),
        Listing::Roots => (
            "c.inviter IS NULL AND ?1 = '' AND EXISTS (SELECT 1 FROM chain_members g WHERE g.inviter = c.member_id)",
            "",
        ),
        Listing::One(member) => ("c.member_id = ?1", member),
    };
    let sql = format!(
        "SELECT c.member_id, c.display_name, m.phone_enc, c.identity, c.inviter, c.joined_at,
            (SELECT count(*) FROM chain_members g WHERE g.inviter = c.member_id) AS directs,
            (SELECT count(DISTINCT v.visitor) FROM chain_visits v WHERE v.sharer = c.member_id AND v.at > ?2) AS visitors,
            (SELECT count(DISTINCT v.visitor) FROM chain_visits v JOIN chain_members p ON p.member_id = v.visitor
              WHERE v.sharer = c.member_id AND v.at > ?2 AND p.last_paid_at > ?2) AS converted,
            (SELECT count(*) FROM chain_members g WHERE g.inviter = c.member_id
              AND (SELECT min(o.paid_at) FROM chain_orders o WHERE o.buyer = g.member_id) > ?2) AS new_paying_directs,
            (SELECT coalesce(sum(o.base_left_fen), 0) FROM chain_orders o WHERE o.paid_at > ?2
              AND (o.buyer = c.member_id OR o.buyer IN (SELECT g.member_id FROM chain_members g WHERE g.inviter = c.member_id)))
              AS gmv_fen
         FROM chain_members c JOIN members m ON m.id = c.member_id
         WHERE {filter} ORDER BY c.joined_at, c.member_id LIMIT 200"
    );
    let rows: Vec<NodeRow> = sql::run(db, vec![statement!(sql, param, since.millis())]).await?.all()?;
    Ok(rows
        .into_iter()
        .map(|row| TeamRow {
            place: TeamPlace {
                member_id: row.member_id,
                name: row.display_name,
                identity: row.identity,
                inviter: row.inviter,
                joined_at: row.joined_at,
            },
            phone_sealed: row.phone_enc,
            counts: TeamCounts {
                directs: row.directs,
                visitors: row.visitors,
                converted: row.converted,
                new_paying_directs: row.new_paying_directs,
                gmv_fen: row.gmv_fen,
            },
        })
        .collect())
}

#[derive(Deserialize)]
struct IdRow {
    member_id: String,
}

/// The inviters above `member`, root first.
pub async fn upline<D: Database>(db: &D, member: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<IdRow> = sql::run(
        db,
        vec![statement!(
            "WITH RECURSIVE up(id, depth) AS (
                 SELECT inviter, 1 FROM chain_members WHERE member_id = ?1
                 UNION ALL SELECT m.inviter, up.depth + 1 FROM chain_members m JOIN up ON m.member_id = up.id
                 WHERE m.inviter IS NOT NULL AND up.depth < 100000)
             SELECT id AS member_id FROM up WHERE id IS NOT NULL ORDER BY depth DESC",
            member
        )],
    )
    .await?
    .all()?;
    Ok(rows.into_iter().map(|row| row.member_id).collect())
}

/// The member whose id, invite code or phone (by its lookup hash) is `q`.
pub async fn find<D: Database>(db: &D, q: &str, phone_lookup: &str) -> Result<Option<String>, StoreError> {
    let row: Option<IdRow> = sql::run(
        db,
        vec![statement!(
            "SELECT c.member_id FROM chain_members c JOIN members m ON m.id = c.member_id
             WHERE c.member_id = ?1 OR m.phone_hash = ?2 OR c.invite_code = ?1 LIMIT 1",
            q,
            phone_lookup
        )],
    )
    .await?
    .first()?;
    Ok(row.map(|row| row.member_id))
}

/// What a sharer's poster names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PosterRow {
    pub invite_code: String,
    pub display_name: Option<String>,
    /// The store asked for when it is active, else the first active store.
    pub store_name: Option<String>,
}

/// What `member`'s poster for `store` names, giving it a place (with `fresh_code`) if it has none.
pub async fn poster<D: Database>(
    db: &D,
    member: &str,
    fresh_code: &str,
    store: &str,
    now: Timestamp,
) -> Result<PosterRow, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            ensure_member(member, fresh_code, now),
            statement!(
                "SELECT c.invite_code, c.display_name,
                        coalesce((SELECT name_zh FROM stores WHERE id = ?2 AND status = 'active'),
                                 (SELECT name_zh FROM stores WHERE status = 'active' ORDER BY id LIMIT 1)) AS store_name
                 FROM chain_members c WHERE c.member_id = ?1",
                member,
                store
            ),
        ],
    )
    .await?;
    results.changes()?;
    results.first()?.ok_or_else(|| StoreError::failed("no place in the network"))
}

fn own_withdrawal(member: &str, key: &str) -> Statement {
    statement!(
        format!("SELECT {WITHDRAWAL_COLUMNS} FROM chain_withdrawals WHERE member_id = ?1 AND request_key = ?2"),
        member,
        key
    )
}

/// The withdrawal `member` asked for under `key`, if any, and its balances.
pub async fn for_withdrawal<D: Database>(
    db: &D,
    member: &str,
    key: &str,
) -> Result<(Option<Withdrawal>, Balances), StoreError> {
    let mut results = sql::run(db, vec![own_withdrawal(member, key), balances_read(member)?]).await?;
    let done = results.first()?;
    Ok((done, balances_from(&mut results, member)?))
}

/// The withdrawal `member` asked for under `key`, if any.
pub async fn withdrawal_by_key<D: Database>(db: &D, member: &str, key: &str) -> Result<Option<Withdrawal>, StoreError> {
    sql::run(db, vec![own_withdrawal(member, key)]).await?.first()
}

/// A withdrawal asked for.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub id: &'a str,
    pub member: &'a str,
    pub key: &'a str,
    pub amount_fen: i64,
}

/// Writes a withdrawal and its hold (`transaction`). `Lost` when the same key won meanwhile
/// (UNIQUE) or the available balance no longer covers the amount (the amount is written only
/// while the ledger still covers it).
pub async fn request_withdrawal<D: Database>(
    db: &D,
    asked: Asked<'_>,
    transaction: &Transaction,
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let Asked { id, member, key, amount_fen } = asked;
    let mut writes = vec![statement!(
        "INSERT INTO chain_withdrawals (id, member_id, request_key, amount_fen, state, requested_at)
         VALUES (?1, ?2, ?3,
                 CASE WHEN (SELECT coalesce(sum(credit_fen) - sum(debit_fen), 0) FROM ledger_entries WHERE account = ?5) >= ?4
                      THEN ?4 END,
                 ?6, ?7)",
        id,
        member,
        key,
        amount_fen,
        account(member, Bucket::Available),
        WithdrawalState::Requested.as_str(),
        now.millis()
    )];
    writes.extend(ledger::post(&format!("t-{id}"), "withdrawal", &format!("withdrawal:{id}"), None, now, transaction)?);
    Ok(sql::guarded(db, writes, RACE_GUARDS).await?.map(|_| ()))
}

/// Withdrawals in `state`: the waiting ones oldest first, the decided ones newest first.
pub async fn withdrawals<D: Database>(db: &D, state: WithdrawalState) -> Result<Vec<Withdrawal>, StoreError> {
    sql::run(
        db,
        vec![statement!(
            format!(
                "SELECT {WITHDRAWAL_COLUMNS} FROM chain_withdrawals WHERE state = ?1
                 ORDER BY CASE WHEN state = 'requested' THEN requested_at ELSE -decided_at END LIMIT 200"
            ),
            state.as_str()
        )],
    )
    .await?
    .all()
}

/// One withdrawal.
pub async fn withdrawal<D: Database>(db: &D, id: &str) -> Result<Option<Withdrawal>, StoreError> {
    sql::run(db, vec![statement!(format!("SELECT {WITHDRAWAL_COLUMNS} FROM chain_withdrawals WHERE id = ?1"), id)])
        .await?
        .first()
}

/// The state of a withdrawal as read.
pub fn state_of(withdrawal: &Withdrawal) -> Result<WithdrawalState, StoreError> {
    stored(WithdrawalState::parse(&withdrawal.state).ok_or_else(|| format!("withdrawal state {}", withdrawal.state)))
}

/// Writes the operator's decision and its movement. `Lost` when it was decided meanwhile.
pub async fn decide_withdrawal<D: Database>(
    db: &D,
    id: &str,
    decided: (WithdrawalState, &Transaction),
    note: Option<&str>,
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let (state, transaction) = decided;
    let state = state.as_str();
    let mut writes = vec![statement!(
        "UPDATE chain_withdrawals SET state = CASE WHEN state = 'requested' THEN ?2 END, decided_at = ?3, note = ?4
         WHERE id = ?1",
        id,
        state,
        now.millis(),
        note
    )];
    let reference = format!("withdrawal:{id}:{state}");
    writes.extend(ledger::post(&format!("t-{id}-{state}"), "withdrawal", &reference, None, now, transaction)?);
    Ok(sql::guarded(db, writes, RACE_GUARDS).await?.map(|_| ()))
}

#[cfg(test)]
mod tests {
    use tandem_domain::chain21::settle;

    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_800_000_000_000);

    fn credit(db: &Sqlite, member: &str, fen: i64) {
        let transaction = settle::withdrawal_transaction(member, Bucket::Pending, Bucket::Available, fen);
        block_on(sql::run(db, ledger::post("t-credit", "reward", "credit", None, NOW, &transaction).unwrap())).unwrap();
    }

    #[test]
    fn a_withdrawal_holds_its_amount_once_and_is_decided_once() {
        let db = fixtures::catalogue();
        fixtures::member(&db, "m-1", "CODE01", None);
        credit(&db, "m-1", 1_000);
        let (none, balances) = block_on(for_withdrawal(&db, "m-1", "key-0001")).unwrap();
        assert_eq!((none, balances.available_fen), (None, 1_000));
        let hold = settle::request_withdrawal("m-1", balances.available_fen, 600).unwrap();
        let asked = Asked { id: "w-1", member: "m-1", key: "key-0001", amount_fen: 600 };
        assert!(block_on(request_withdrawal(&db, asked, &hold, NOW)).unwrap().written());
        // The same key again is refused by its UNIQUE and reads back the first.
        let again = Asked { id: "w-2", ..asked };
        assert!(!block_on(request_withdrawal(&db, again, &hold, NOW)).unwrap().written());
        // Another key for more than is left: the amount is not covered by the ledger any more.
        let more = Asked { id: "w-3", key: "key-0002", ..asked };
        assert!(!block_on(request_withdrawal(&db, more, &hold, NOW)).unwrap().written());
        let (done, balances) = block_on(for_withdrawal(&db, "m-1", "key-0001")).unwrap();
        assert_eq!(done.as_ref().map(|w| (w.id.as_str(), w.amount_fen)), Some(("w-1", 600)));
        assert_eq!((balances.available_fen, balances.withdrawing_fen), (400, 600));

        let row = block_on(withdrawal(&db, "w-1")).unwrap().unwrap();
        let (state, paid) = settle::decide_withdrawal("m-1", row.amount_fen, state_of(&row).unwrap(), true).unwrap();
        assert!(block_on(decide_withdrawal(&db, "w-1", (state, &paid), Some("ok"), NOW)).unwrap().written());
        let (state, back) = settle::decide_withdrawal("m-1", 600, WithdrawalState::Requested, false).unwrap();
        assert!(!block_on(decide_withdrawal(&db, "w-1", (state, &back), None, NOW)).unwrap().written());
        let paid_list = block_on(withdrawals(&db, WithdrawalState::Paid)).unwrap();
        assert_eq!(paid_list.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), ["w-1"]);
        assert!(block_on(withdrawals(&db, WithdrawalState::Requested)).unwrap().is_empty());
        let (_, balances) = block_on(for_withdrawal(&db, "m-1", "none")).unwrap();
        assert_eq!((balances.available_fen, balances.withdrawing_fen, balances.paid_out_fen), (400, 0, 600));
    }

    #[test]
    fn the_centre_reads_the_place_the_rules_and_the_team_counts() {
        let db = fixtures::catalogue();
        fixtures::member(&db, "m-1", "CODE01", None);
        fixtures::member(&db, "m-2", "CODE02", Some("m-1"));
        fixtures::member(&db, "m-3", "CODE03", Some("m-2"));
        let centre = block_on(centre(&db, "m-1", "UNUSED", NOW)).unwrap();
        assert_eq!((centre.place.invite_code.as_str(), centre.required_directs), ("CODE01", None));
        fixtures::publish(&db, &Rules::preset("chain21").unwrap());
        let centre = block_on(super::centre(&db, "m-1", "UNUSED", NOW)).unwrap();
        assert_eq!(
            centre.required_directs,
            Some(i64::from(Rules::preset("chain21").unwrap().upgrade.required_directs))
        );
        // A member without a place gets one with the fresh code.
        fixtures::member_only(&db, "m-9");
        assert_eq!(block_on(super::centre(&db, "m-9", "FRESH09", NOW)).unwrap().place.invite_code, "FRESH09");

        let directs = block_on(team(&db, Listing::DirectsOf("m-1"), NOW.plus_days(-30))).unwrap();
        assert_eq!(directs.iter().map(|r| r.place.member_id.as_str()).collect::<Vec<_>>(), ["m-2"]);
        assert_eq!(directs[0].counts.directs, 1);
        let roots = block_on(team(&db, Listing::Roots, NOW.plus_days(-30))).unwrap();
        assert_eq!(roots.iter().map(|r| r.place.member_id.as_str()).collect::<Vec<_>>(), ["m-1"]);
        assert_eq!(block_on(upline(&db, "m-3")).unwrap(), ["m-1", "m-2"]);
        assert_eq!(block_on(find(&db, "CODE03", "")).unwrap().as_deref(), Some("m-3"));
        assert_eq!(block_on(find(&db, "nobody", "")).unwrap(), None);
        block_on(set_display_name(&db, "m-1", "UNUSED", Some("小王"), NOW)).unwrap();
        let poster = block_on(poster(&db, "m-1", "UNUSED", "s-1", NOW)).unwrap();
        assert_eq!((poster.invite_code.as_str(), poster.display_name.as_deref()), ("CODE01", Some("小王")));
    }
}
