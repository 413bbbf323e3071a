//! Who a session belongs to, and where they work.

use serde::Deserialize;
use tandem_domain::time::Timestamp;

use super::sql::{self, Database, Statement, StoreError, statement};

/// The member of a live session (the phone still sealed).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SessionMember {
    pub id: String,
    pub phone_hash: String,
    pub phone_enc: String,
}

/// One place a person works: a store (`owner`, `clerk`) or a supplier (`staff`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StaffRow {
    pub scope: String,
    pub scope_id: String,
    pub role: String,
}

/// A session is live until it expires or is revoked.
pub(super) fn member(token_hash: &str, now: Timestamp) -> Statement {
    statement!(
        "SELECT m.id, m.phone_hash, m.phone_enc FROM sessions s JOIN members m ON m.id = s.member_id
         WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2",
        token_hash,
        now.millis()
    )
}

/// The member of a live session.
pub async fn member_of<D: Database>(
    db: &D,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<SessionMember>, StoreError> {
    sql::run(db, vec![member(token_hash, now)]).await?.first()
}

/// The member of a live session and where they work, in one round trip.
pub async fn member_and_staff<D: Database>(
    db: &D,
    token_hash: &str,
    now: Timestamp,
) -> Result<(Option<SessionMember>, Vec<StaffRow>), StoreError> {
    let staff = statement!(
        "SELECT scope, scope_id, role FROM staff WHERE phone_hash = (
             SELECT m.phone_hash FROM sessions s JOIN members m ON m.id = s.member_id
             WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2)
         ORDER BY scope, scope_id",
        token_hash,
        now.millis()
    );
    let mut results = sql::run(db, vec![member(token_hash, now), staff]).await?;
    Ok((results.first()?, results.all()?))
}

/// Where the person of a phone works.
pub async fn staff_of<D: Database>(db: &D, phone_hash: &str) -> Result<Vec<StaffRow>, StoreError> {
    sql::run(
        db,
        vec![statement!(
            "SELECT scope, scope_id, role FROM staff WHERE phone_hash = ?1 ORDER BY scope, scope_id",
            phone_hash
        )],
    )
    .await?
    .all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::auth;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn signed_in() -> (Sqlite, String, String) {
        let db = Sqlite::migrated().unwrap();
        let (phone, token) = ("a".repeat(64), "c".repeat(64));
        block_on(sql::run(
            &db,
            vec![
                auth::ensure_member("m-1", &phone, "sealed", NOW),
                auth::create_session(&token, &phone, NOW, NOW.plus_days(30)),
            ],
        ))
        .unwrap();
        db.execute(&format!(
            "INSERT INTO stores (id, name_zh, name_en, city_zh, city_en, address_zh, address_en, created_at)
                 VALUES ('s-1', '店', 'Store', '上海', 'Shanghai', '路', 'Road', '0');
             INSERT INTO staff (scope, scope_id, phone_hash, phone_enc, role, added_at)
                 VALUES ('store', 's-1', '{phone}', 'sealed', 'clerk', 0);"
        ))
        .unwrap();
        (db, phone, token)
    }

    #[test]
    fn a_live_session_names_its_member_and_where_they_work() {
        let (db, phone, token) = signed_in();
        let (member, staff) = block_on(member_and_staff(&db, &token, NOW)).unwrap();
        assert_eq!(member.unwrap().id, "m-1");
        assert_eq!(staff, [StaffRow { scope: "store".into(), scope_id: "s-1".into(), role: "clerk".into() }]);
        assert_eq!(block_on(staff_of(&db, &phone)).unwrap().len(), 1);
        assert_eq!(block_on(member_of(&db, &"d".repeat(64), NOW)).unwrap(), None, "an unknown token");
    }

    #[test]
    fn an_expired_or_revoked_session_names_nobody() {
        let (db, _, token) = signed_in();
        assert_eq!(block_on(member_of(&db, &token, NOW.plus_days(30))).unwrap(), None, "expired");
        assert!(block_on(member_of(&db, &token, NOW)).unwrap().is_some());
        block_on(auth::revoke_session(&db, &token, NOW)).unwrap();
        let (member, staff) = block_on(member_and_staff(&db, &token, NOW)).unwrap();
        assert_eq!((member, staff.len()), (None, 0), "revoked: no member and no roles");
    }
}
