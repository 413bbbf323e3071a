//! Sign-in: rate counters, the live codes of a phone (one per requester), members and
//! sessions.

use serde::Deserialize;
use tandem_domain::auth::{OtpChallenge, Tries};
use tandem_domain::time::Timestamp;

use super::carts::ToMerge;
use super::sql::{self, Constraint, Database, Guarded, RACE_GUARDS, Statement, StoreError, statement};

#[derive(Deserialize)]
struct CountRow {
    count: u32,
}

/// Counts one event against each `(key, window)` counter, in one batch; the counts after it.
pub async fn count<D: Database>(db: &D, counters: &[(String, i64)]) -> Result<Vec<u32>, StoreError> {
    let statements = counters
        .iter()
        .map(|(key, window)| {
            statement!(
                "INSERT INTO rate_counters (key, window, count) VALUES (?1, ?2, 1)
                 ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count",
                key,
                *window
            )
        })
        .collect();
    let mut results = sql::run(db, statements).await?;
    counters.iter().map(|_| Ok(results.first::<CountRow>()?.map_or(0, |c| c.count))).collect()
}

/// Keeps `challenge` as `requester`'s live code for the phone, replacing the one it asked for
/// before (and only that one).
pub async fn keep_code<D: Database>(
    db: &D,
    phone_hash: &str,
    requester: &str,
    challenge: &OtpChallenge,
    now: Timestamp,
) -> Result<(), StoreError> {
    let keep = statement!(
        "INSERT INTO otp_codes (phone_hash, requester, code_hash, expires_at, used, created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)
         ON CONFLICT (phone_hash, requester) DO UPDATE SET code_hash = ?3, expires_at = ?4, used = 0, created_at = ?5",
        phone_hash,
        requester,
        &challenge.code_hash,
        challenge.expires_at.millis(),
        now.millis()
    );
    // Expired codes of the phone go with it: nothing accumulates.
    let sweep = statement!("DELETE FROM otp_codes WHERE phone_hash = ?1 AND expires_at < ?2", phone_hash, now.millis());
    sql::run(db, vec![sweep, keep]).await?;
    Ok(())
}

#[derive(Deserialize)]
struct CodeRow {
    requester: String,
    code_hash: String,
    expires_at: i64,
    used: i64,
}

/// What a sign-in try reads: the phone's codes (with whose they are), the tries of this
/// window, this one counted, and the carts a sign-in with the browser's anonymous cart merges.
pub struct ForSignIn {
    pub codes: Vec<(String, OtpChallenge)>,
    pub tries: Tries,
    pub to_merge: ToMerge,
}

/// Counts the try (per requester, per phone) and reads the phone's codes and the carts to
/// merge (none without an anonymous cart), in one round trip.
pub async fn for_sign_in<D: Database>(
    db: &D,
    phone_hash: &str,
    requester_counter: (&str, i64),
    phone_counter: (&str, i64),
    anonymous_cart: Option<&str>,
) -> Result<ForSignIn, StoreError> {
    let count = |(key, window): (&str, i64)| {
        statement!(
            "INSERT INTO rate_counters (key, window, count) VALUES (?1, ?2, 1)
             ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count",
            key,
            window
        )
    };
    let mut reads = vec![
        count(requester_counter),
        count(phone_counter),
        statement!(
            "SELECT requester, code_hash, expires_at, used FROM otp_codes WHERE phone_hash = ?1 ORDER BY created_at",
            phone_hash
        ),
    ];
    if let Some(anonymous) = anonymous_cart {
        reads.extend(super::carts::to_merge_reads(anonymous, phone_hash));
    }
    let mut results = sql::run(db, reads).await?;
    let by_requester = results.first::<CountRow>()?.map_or(0, |c| c.count);
    let for_phone = results.first::<CountRow>()?.map_or(0, |c| c.count);
    let codes = results
        .all::<CodeRow>()?
        .into_iter()
        .map(|row| {
            let challenge =
                OtpChallenge { code_hash: row.code_hash, expires_at: Timestamp(row.expires_at), used: row.used != 0 };
            (row.requester, challenge)
        })
        .collect();
    let to_merge =
        if anonymous_cart.is_some() { super::carts::to_merge_from(&mut results)? } else { ToMerge::default() };
    Ok(ForSignIn { codes, tries: Tries { by_requester, for_phone }, to_merge })
}

/// What a sign-in writes once its code has checked out.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    pub phone_hash: &'a str,
    /// Whose code was matched, and its hash as read: it is used up.
    pub requester: &'a str,
    pub code_hash: &'a str,
    /// The id, sealed phone and invite code a first sign-in makes the member with.
    pub new_member: &'a str,
    pub phone_sealed: &'a str,
    pub invite_code: &'a str,
    pub token_hash: &'a str,
    pub expires_at: Timestamp,
    /// The browser's anonymous cart, merged into the member's (made as the second id if the
    /// member has none) as read with the codes.
    pub anonymous_cart: Option<(&'a str, &'a str, &'a ToMerge)>,
    pub now: Timestamp,
}

/// How a sign-in's batch came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Signed in: the member's id.
    Member(String),
    /// The code was used (or replaced) since it was read: nothing was written.
    CodeUsed,
    /// A cart line changed since it was read: nothing was written and the code is still good.
    CartChanged,
    /// The invite code drawn for a first sign-in is another member's: nothing was written, and
    /// signing in again draws another.
    InviteCodeTaken,
}

/// Signs in, all or nothing: uses the code up, makes the member on the first sign-in (with a
/// place in the network), starts the session and merges the anonymous cart.
pub async fn sign_in<D: Database>(db: &D, s: SignIn<'_>) -> Result<SignInOutcome, StoreError> {
    let mut writes = vec![
        use_code(s.phone_hash, s.requester, s.code_hash),
        ensure_member(s.new_member, s.phone_hash, s.phone_sealed, s.now),
        create_session(s.token_hash, s.phone_hash, s.now, s.expires_at),
        super::chain::ensure_member_of_phone(s.phone_hash, s.invite_code, s.now),
    ];
    if let Some((anonymous, new_cart, read)) = s.anonymous_cart {
        writes.extend(super::carts::merge(read, anonymous, s.phone_hash, new_cart, s.now));
    }
    match sql::guarded(db, writes, RACE_GUARDS).await? {
        Guarded::Written(mut results) => {
            results.next_rows()?;
            results.next_rows()?;
            let member: SessionMember =
                results.first()?.ok_or_else(|| StoreError::failed("the session was not created"))?;
            Ok(SignInOutcome::Member(member.member_id))
        }
        Guarded::Lost(Constraint::NotNull(column)) if column == "otp_codes.used" => Ok(SignInOutcome::CodeUsed),
        Guarded::Lost(Constraint::NotNull(column)) if column == "cart_lines.quantity" => Ok(SignInOutcome::CartChanged),
        Guarded::Lost(Constraint::Unique(columns)) if columns == "chain_members.invite_code" => {
            Ok(SignInOutcome::InviteCodeTaken)
        }
        Guarded::Lost(other) => Err(StoreError::failed(format!("a sign-in guard nobody expects: {other:?}"))),
    }
}

/// Marks the code that was matched used, for the sign-in batch: guarded, so two sign-ins with
/// one code cannot both go through, nor one whose code was replaced since it was read (the
/// batch fails on `otp_codes.used` and writes nothing).
fn use_code(phone_hash: &str, requester: &str, code_hash: &str) -> Statement {
    statement!(
        "UPDATE otp_codes SET used = CASE WHEN used = 0 AND code_hash = ?3 THEN 1 END
         WHERE phone_hash = ?1 AND requester = ?2",
        phone_hash,
        requester,
        code_hash
    )
}

/// The member of a phone, made on its first sign-in.
pub(crate) fn ensure_member(member_id: &str, phone_hash: &str, phone_sealed: &str, now: Timestamp) -> Statement {
    statement!(
        "INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (phone_hash) DO NOTHING",
        member_id,
        phone_hash,
        phone_sealed,
        now.millis()
    )
}

/// A session for the member of a phone; it reads back `member_id`.
pub(crate) fn create_session(token_hash: &str, phone_hash: &str, now: Timestamp, expires_at: Timestamp) -> Statement {
    statement!(
        "INSERT INTO sessions (token_hash, member_id, created_at, expires_at)
         SELECT ?1, id, ?2, ?3 FROM members WHERE phone_hash = ?4 RETURNING member_id",
        token_hash,
        now.millis(),
        expires_at.millis(),
        phone_hash
    )
}

#[derive(Debug, Deserialize)]
struct SessionMember {
    member_id: String,
}

/// Revokes a session; whether it was live.
pub async fn revoke_session<D: Database>(db: &D, token_hash: &str, now: Timestamp) -> Result<bool, StoreError> {
    let mut results = sql::run(
        db,
        vec![statement!(
            "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
            token_hash,
            now.millis()
        )],
    )
    .await?;
    Ok(results.changes()? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);
    const PHONE: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const OWNER: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const STRANGER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    /// The hashes of `challenge('c', …)` and `challenge('d', …)`: the owner's and the stranger's codes.
    const C_HASH: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    const D_HASH: &str = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

    fn challenge(hash_digit: char, expires_at: Timestamp) -> OtpChallenge {
        OtpChallenge { code_hash: hash_digit.to_string().repeat(64), expires_at, used: false }
    }

    #[test]
    fn counters_count_per_key_and_window() {
        let db = Sqlite::migrated().unwrap();
        let counters = [("otp:a".to_owned(), 7), ("otp:b".to_owned(), 7)];
        assert_eq!(block_on(count(&db, &counters)).unwrap(), [1, 1]);
        assert_eq!(block_on(count(&db, &counters[..1])).unwrap(), [2]);
        assert_eq!(block_on(count(&db, &[("otp:a".to_owned(), 8)])).unwrap(), [1], "a new window starts at one");
    }

    #[test]
    fn a_strangers_code_does_not_replace_the_owners() {
        let db = Sqlite::migrated().unwrap();
        let later = NOW.plus_minutes(5);
        block_on(keep_code(&db, PHONE, OWNER, &challenge('c', later), NOW)).unwrap();
        for _ in 0..3 {
            block_on(keep_code(&db, PHONE, STRANGER, &challenge('d', later), NOW)).unwrap();
        }
        let read = block_on(for_sign_in(&db, PHONE, ("t:owner", 1), ("t:phone", 1), None)).unwrap();
        let owners: Vec<_> = read.codes.iter().filter(|(r, _)| r == OWNER).collect();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].1, challenge('c', later));
        assert_eq!(read.codes.len(), 2, "one code per requester");
        assert_eq!(read.tries, Tries { by_requester: 1, for_phone: 1 });
        // The owner's second request replaces the owner's own code.
        block_on(keep_code(&db, PHONE, OWNER, &challenge('e', later), NOW)).unwrap();
        let read = block_on(for_sign_in(&db, PHONE, ("t:owner", 1), ("t:phone", 1), None)).unwrap();
        assert!(read.codes.iter().any(|(r, c)| r == OWNER && *c == challenge('e', later)));
        assert_eq!(read.tries, Tries { by_requester: 2, for_phone: 2 });
    }

    #[test]
    fn expired_codes_are_swept_when_a_new_one_is_kept() {
        let db = Sqlite::migrated().unwrap();
        block_on(keep_code(&db, PHONE, STRANGER, &challenge('d', NOW), NOW)).unwrap();
        block_on(keep_code(&db, PHONE, OWNER, &challenge('c', NOW.plus_minutes(20)), NOW.plus_minutes(10))).unwrap();
        let read = block_on(for_sign_in(&db, PHONE, ("t:o", 1), ("t:p", 1), None)).unwrap();
        assert_eq!(read.codes.len(), 1);
    }

    #[test]
    fn a_code_is_used_once_under_any_race() {
        let db = Sqlite::migrated().unwrap();
        block_on(keep_code(&db, PHONE, OWNER, &challenge('c', NOW.plus_minutes(5)), NOW)).unwrap();
        let hash = "c".repeat(64);
        let first = block_on(sql::guarded(&db, vec![use_code(PHONE, OWNER, &hash)], RACE_GUARDS)).unwrap();
        assert!(matches!(first, Guarded::Written(_)));
        let second = block_on(sql::guarded(&db, vec![use_code(PHONE, OWNER, &hash)], RACE_GUARDS)).unwrap();
        assert!(matches!(second, Guarded::Lost(Constraint::NotNull(ref c)) if c == "otp_codes.used"), "{second:?}");
        // A code replaced after it was read cannot be used in its place.
        block_on(keep_code(&db, PHONE, OWNER, &challenge('e', NOW.plus_minutes(9)), NOW.plus_minutes(1))).unwrap();
        let replaced = block_on(sql::guarded(&db, vec![use_code(PHONE, OWNER, &hash)], RACE_GUARDS)).unwrap();
        assert!(matches!(replaced, Guarded::Lost(_)), "{replaced:?}");
        assert_eq!(db.number("SELECT used FROM otp_codes").unwrap(), 0, "the new code is still good");
    }

    fn signing_in<'a>(
        requester: &'a str,
        token_hash: &'a str,
        cart: Option<(&'a str, &'a str, &'a ToMerge)>,
    ) -> SignIn<'a> {
        SignIn {
            phone_hash: PHONE,
            requester,
            code_hash: match requester {
                OWNER => C_HASH,
                _ => D_HASH,
            },
            new_member: "m-1",
            phone_sealed: "sealed",
            invite_code: "CODE01",
            token_hash,
            expires_at: NOW.plus_days(30),
            anonymous_cart: cart,
            now: NOW,
        }
    }

    #[test]
    fn sign_in_makes_the_member_once_with_a_place_in_the_network_and_a_session_each_time() {
        let db = crate::store::fixtures::catalogue();
        block_on(keep_code(&db, PHONE, OWNER, &challenge('c', NOW.plus_minutes(5)), NOW)).unwrap();
        block_on(keep_code(&db, PHONE, STRANGER, &challenge('d', NOW.plus_minutes(5)), NOW)).unwrap();
        let (first, second) = ("a".repeat(64), "b".repeat(64));
        assert_eq!(
            block_on(sign_in(&db, signing_in(OWNER, &first, None))).unwrap(),
            SignInOutcome::Member("m-1".into())
        );
        // The same code again loses whole: no second session.
        assert_eq!(block_on(sign_in(&db, signing_in(OWNER, &second, None))).unwrap(), SignInOutcome::CodeUsed);
        assert_eq!(db.number("SELECT COUNT(*) FROM sessions").unwrap(), 1);
        // Another code of the phone signs the same member in again.
        let mut again = signing_in(STRANGER, &second, None);
        again.new_member = "m-2";
        assert_eq!(block_on(sign_in(&db, again)).unwrap(), SignInOutcome::Member("m-1".into()));
        assert_eq!(db.number("SELECT COUNT(*) FROM members").unwrap(), 1);
        assert_eq!(db.number("SELECT COUNT(*) FROM chain_members WHERE member_id = 'm-1'").unwrap(), 1);
        assert!(block_on(revoke_session(&db, &first, NOW)).unwrap());
        assert!(!block_on(revoke_session(&db, &first, NOW)).unwrap());
    }

    #[test]
    fn a_first_sign_in_whose_invite_code_is_taken_writes_nothing_and_keeps_the_code() {
        let db = crate::store::fixtures::catalogue();
        crate::store::fixtures::member(&db, "m-0", "CODE01", None);
        block_on(keep_code(&db, PHONE, OWNER, &challenge('c', NOW.plus_minutes(5)), NOW)).unwrap();
        let token = "a".repeat(64);
        assert_eq!(block_on(sign_in(&db, signing_in(OWNER, &token, None))).unwrap(), SignInOutcome::InviteCodeTaken);
        assert_eq!(db.number("SELECT COUNT(*) FROM members").unwrap(), 1);
        assert_eq!(db.number("SELECT COUNT(*) FROM sessions").unwrap(), 0);
        assert_eq!(db.number("SELECT used FROM otp_codes").unwrap(), 0, "the code is still good");
    }

    #[test]
    fn sign_in_merges_the_anonymous_cart_into_the_member_s() {
        let db = crate::store::fixtures::catalogue();
        db.execute(
            "INSERT INTO carts (id, member_id, updated_at) VALUES ('k-anon', NULL, 0);
             INSERT INTO cart_lines (cart_id, store_id, sku_id, fulfilment, quantity, added_at)
                 VALUES ('k-anon', 's-1', 'p-1-01', 'delivery', 2, 0);",
        )
        .unwrap();
        block_on(keep_code(&db, PHONE, OWNER, &challenge('c', NOW.plus_minutes(5)), NOW)).unwrap();
        let token = "a".repeat(64);
        let read = block_on(for_sign_in(&db, PHONE, ("t:o", 1), ("t:p", 1), Some("k-anon"))).unwrap();
        assert_eq!((read.to_merge.anonymous.len(), read.to_merge.member.len()), (1, 0));
        let signed =
            block_on(sign_in(&db, signing_in(OWNER, &token, Some(("k-anon", "k-new", &read.to_merge))))).unwrap();
        assert_eq!(signed, SignInOutcome::Member("m-1".into()));
        assert_eq!(db.number("SELECT quantity FROM cart_lines WHERE cart_id = 'k-new'").unwrap(), 2);
        assert_eq!(db.number("SELECT COUNT(*) FROM carts WHERE id = 'k-anon'").unwrap(), 0);
    }

    #[test]
    fn a_cart_changed_since_the_sign_in_read_refuses_the_sign_in_and_keeps_the_code() {
        let db = crate::store::fixtures::catalogue();
        crate::store::fixtures::member(&db, "m-1", "CODE01", None);
        db.execute(&format!(
            "UPDATE members SET phone_hash = '{PHONE}' WHERE id = 'm-1';
             INSERT INTO carts (id, member_id, updated_at) VALUES ('k-m', 'm-1', 0), ('k-anon', NULL, 0);
             INSERT INTO cart_lines (cart_id, store_id, sku_id, fulfilment, quantity, added_at)
                 VALUES ('k-m', 's-1', 'p-1-01', 'delivery', 98, 0), ('k-anon', 's-1', 'p-1-01', 'delivery', 5, 0);"
        ))
        .unwrap();
        block_on(keep_code(&db, PHONE, OWNER, &challenge('c', NOW.plus_minutes(5)), NOW)).unwrap();
        let read = block_on(for_sign_in(&db, PHONE, ("t:o", 1), ("t:p", 1), Some("k-anon"))).unwrap();
        assert_eq!(read.to_merge.member[0].quantity, 98);
        // Another device changes the member's line after the read: the merge would be wrong.
        db.execute("UPDATE cart_lines SET quantity = 3 WHERE cart_id = 'k-m'").unwrap();
        let token = "a".repeat(64);
        let lost =
            block_on(sign_in(&db, signing_in(OWNER, &token, Some(("k-anon", "k-new", &read.to_merge))))).unwrap();
        assert_eq!(lost, SignInOutcome::CartChanged);
        assert_eq!(db.number("SELECT used FROM otp_codes").unwrap(), 0, "the code is still good");
        // Read again: the lines add up to the most a line holds.
        let read = block_on(for_sign_in(&db, PHONE, ("t:o", 1), ("t:p", 1), Some("k-anon"))).unwrap();
        db.execute("UPDATE cart_lines SET quantity = 97 WHERE cart_id = 'k-m'").unwrap();
        let read_again = block_on(for_sign_in(&db, PHONE, ("t:o", 1), ("t:p", 1), Some("k-anon"))).unwrap();
        assert_ne!(read.to_merge, read_again.to_merge);
        let signed = block_on(sign_in(&db, signing_in(OWNER, &token, Some(("k-anon", "k-new", &read_again.to_merge)))));
        assert_eq!(signed.unwrap(), SignInOutcome::Member("m-1".into()));
        assert_eq!(db.number("SELECT quantity FROM cart_lines WHERE cart_id = 'k-m'").unwrap(), 99);
    }
}
