//! Sign-in: rate counters, the live codes of a phone (one per requester), members and
//! sessions.

use serde::Deserialize;
use tandem_domain::auth::{OtpChallenge, Tries};
use tandem_domain::time::Timestamp;

use super::sql::{self, Database, Statement, StoreError, statement};

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

/// What a sign-in try reads: the phone's codes (with whose they are) and the tries of this
/// window, this one counted.
pub struct ForSignIn {
    pub codes: Vec<(String, OtpChallenge)>,
    pub tries: Tries,
}

/// Counts the try (per requester, per phone) and reads the phone's codes, in one round trip.
pub async fn for_sign_in<D: Database>(
    db: &D,
    phone_hash: &str,
    requester_counter: (&str, i64),
    phone_counter: (&str, i64),
) -> Result<ForSignIn, StoreError> {
    let count = |(key, window): (&str, i64)| {
        statement!(
            "INSERT INTO rate_counters (key, window, count) VALUES (?1, ?2, 1)
             ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count",
            key,
            window
        )
    };
    let mut results = sql::run(
        db,
        vec![
            count(requester_counter),
            count(phone_counter),
            statement!(
                "SELECT requester, code_hash, expires_at, used FROM otp_codes WHERE phone_hash = ?1 ORDER BY created_at",
                phone_hash
            ),
        ],
    )
    .await?;
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
    Ok(ForSignIn { codes, tries: Tries { by_requester, for_phone } })
}

/// Marks a code used, for the sign-in batch: guarded, so two sign-ins with one code cannot
/// both go through (the second batch fails on `otp_codes.used` and writes nothing).
pub fn use_code(phone_hash: &str, requester: &str) -> Statement {
    statement!(
        "UPDATE otp_codes SET used = CASE WHEN used = 0 THEN 1 END WHERE phone_hash = ?1 AND requester = ?2",
        phone_hash,
        requester
    )
}

/// The member of a phone, made on its first sign-in.
pub fn ensure_member(member_id: &str, phone_hash: &str, phone_sealed: &str, now: Timestamp) -> Statement {
    statement!(
        "INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (phone_hash) DO NOTHING",
        member_id,
        phone_hash,
        phone_sealed,
        now.millis()
    )
}

/// A session for the member of a phone; it reads back `member_id`.
pub fn create_session(token_hash: &str, phone_hash: &str, now: Timestamp, expires_at: Timestamp) -> Statement {
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
pub struct SessionMember {
    pub member_id: String,
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
    use crate::store::sql::{Constraint, Guarded, RACE_GUARDS};
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);
    const PHONE: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const OWNER: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const STRANGER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

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
        let read = block_on(for_sign_in(&db, PHONE, ("t:owner", 1), ("t:phone", 1))).unwrap();
        let owners: Vec<_> = read.codes.iter().filter(|(r, _)| r == OWNER).collect();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].1, challenge('c', later));
        assert_eq!(read.codes.len(), 2, "one code per requester");
        assert_eq!(read.tries, Tries { by_requester: 1, for_phone: 1 });
        // The owner's second request replaces the owner's own code.
        block_on(keep_code(&db, PHONE, OWNER, &challenge('e', later), NOW)).unwrap();
        let read = block_on(for_sign_in(&db, PHONE, ("t:owner", 1), ("t:phone", 1))).unwrap();
        assert!(read.codes.iter().any(|(r, c)| r == OWNER && *c == challenge('e', later)));
        assert_eq!(read.tries, Tries { by_requester: 2, for_phone: 2 });
    }

    #[test]
    fn expired_codes_are_swept_when_a_new_one_is_kept() {
        let db = Sqlite::migrated().unwrap();
        block_on(keep_code(&db, PHONE, STRANGER, &challenge('d', NOW), NOW)).unwrap();
        block_on(keep_code(&db, PHONE, OWNER, &challenge('c', NOW.plus_minutes(20)), NOW.plus_minutes(10))).unwrap();
        let read = block_on(for_sign_in(&db, PHONE, ("t:o", 1), ("t:p", 1))).unwrap();
        assert_eq!(read.codes.len(), 1);
    }

    #[test]
    fn a_code_is_used_once_under_any_race() {
        let db = Sqlite::migrated().unwrap();
        block_on(keep_code(&db, PHONE, OWNER, &challenge('c', NOW.plus_minutes(5)), NOW)).unwrap();
        let first = block_on(sql::guarded(&db, vec![use_code(PHONE, OWNER)], RACE_GUARDS)).unwrap();
        assert!(matches!(first, Guarded::Written(_)));
        let second = block_on(sql::guarded(&db, vec![use_code(PHONE, OWNER)], RACE_GUARDS)).unwrap();
        assert!(matches!(second, Guarded::Lost(Constraint::NotNull(ref c)) if c == "otp_codes.used"), "{second:?}");
    }

    #[test]
    fn sign_in_makes_the_member_once_and_a_session_each_time() {
        let db = Sqlite::migrated().unwrap();
        for token in ["t1", "t2"] {
            let token_hash = token.repeat(32);
            let mut results = block_on(sql::run(
                &db,
                vec![
                    ensure_member("m-1", PHONE, "sealed", NOW),
                    create_session(&token_hash, PHONE, NOW, NOW.plus_days(30)),
                ],
            ))
            .unwrap();
            assert_eq!(results.changes().unwrap(), u64::from(token == "t1"));
            let member: SessionMember = results.first().unwrap().unwrap();
            assert_eq!(member.member_id, "m-1");
        }
        assert!(block_on(revoke_session(&db, &"t1".repeat(32), NOW)).unwrap());
        assert!(!block_on(revoke_session(&db, &"t1".repeat(32), NOW)).unwrap());
    }
}
