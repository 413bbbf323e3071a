//! What the store layer needs of a database, whatever runs it: statements with bound values,
//! run as one all-or-nothing batch, their rows read into named structs by column name, and a
//! refusal by a constraint told apart from every other failure, naming the constraint.
//!
//! D1 implements [`Database`] in the Worker (`store::d1`); SQLite through rusqlite implements it
//! natively (`store::sqlite`), so every statement of the store layer runs under `cargo test`
//! against the real migrations.

use serde::de::DeserializeOwned;

/// A value bound to a statement's parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Integer(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Text(value.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// One SQL statement and the values of its parameters `?1`, `?2`, ….
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub values: Vec<Value>,
}

impl Statement {
    pub fn new(sql: impl Into<String>, values: Vec<Value>) -> Self {
        Statement { sql: sql.into(), values }
    }
}

/// Builds a [`Statement`]: `statement!("… ?1 … ?2", a, b)`.
macro_rules! statement {
    ($sql:expr $(, $value:expr)* $(,)?) => {
        $crate::store::sql::Statement::new($sql, vec![$($crate::store::sql::Value::from($value)),*])
    };
}
pub(crate) use statement;

/// What a constraint refusal names: SQLite's own words after "constraint failed: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// `UNIQUE` (or a primary key): the columns, as `table.column, table.column`.
    Unique(String),
    /// `NOT NULL`: `table.column`. A guarded state change (`CASE WHEN state = … END`) writes NULL
    /// when the row moved on, so this is how a lost race shows.
    NotNull(String),
    /// `CHECK`: the constraint's name, or its expression when it has none.
    Check(String),
    ForeignKey,
    /// A trigger's `RAISE(ABORT, message)`.
    Trigger(String),
}

/// A failure of the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A constraint refused the batch; nothing of it was written.
    #[error("refused by a constraint: {0:?}")]
    Refused(Constraint),
    /// Anything else (a syntax error, a missing table, a row that does not decode).
    #[error("database failure: {0}")]
    Failed(String),
}

impl StoreError {
    /// Reads a constraint refusal out of SQLite's (or D1's, which wraps it) message; anything
    /// else is a plain failure.
    pub fn from_message(message: &str) -> StoreError {
        let refused = |kind: &str| {
            let marker = format!("{kind} constraint failed");
            message.find(&marker).map(|at| {
                let rest = &message[at + marker.len()..];
                let rest = rest.strip_prefix(": ").unwrap_or(rest);
                // D1 appends ": SQLITE_CONSTRAINT" (and sometimes more) to SQLite's words.
                rest.split(": SQLITE_").next().unwrap_or(rest).trim().to_owned()
            })
        };
        if let Some(columns) = refused("UNIQUE") {
            return StoreError::Refused(Constraint::Unique(columns));
        }
        if let Some(column) = refused("NOT NULL") {
            return StoreError::Refused(Constraint::NotNull(column));
        }
        if let Some(check) = refused("CHECK") {
            return StoreError::Refused(Constraint::Check(check));
        }
        if message.contains("FOREIGN KEY constraint failed") {
            return StoreError::Refused(Constraint::ForeignKey);
        }
        if message.contains("SQLITE_CONSTRAINT_TRIGGER") || message.contains("SQLITE_CONSTRAINT") {
            let text = message.split(": SQLITE_").next().unwrap_or(message);
            let text = text.strip_prefix("D1_ERROR: ").unwrap_or(text);
            return StoreError::Refused(Constraint::Trigger(text.trim().to_owned()));
        }
        StoreError::Failed(message.to_owned())
    }

    pub fn failed(detail: impl std::fmt::Display) -> StoreError {
        StoreError::Failed(detail.to_string())
    }
}

/// A value read back that must parse: what the Worker wrote, it can read; anything else is a
/// failure of the store, never the caller's.
pub fn stored<T, E: std::fmt::Display>(parsed: Result<T, E>) -> Result<T, StoreError> {
    parsed.map_err(|e| StoreError::failed(format!("a stored value does not parse: {e}")))
}

/// The rows one statement of a batch read, and the rows it changed.
pub trait Rows {
    fn decode<T: DeserializeOwned>(&self) -> Result<Vec<T>, StoreError>;
    fn changes(&self) -> u64;

    fn first<T: DeserializeOwned>(&self) -> Result<Option<T>, StoreError> {
        Ok(self.decode::<T>()?.into_iter().next())
    }
}

/// A database the store layer writes to. Workers run one request at a time per isolate and
/// D1's futures are not `Send`, so neither are these.
#[allow(async_fn_in_trait)]
pub trait Database {
    type Rows: Rows;

    /// Runs `statements` in order as one transaction: all of them or, on any failure, none.
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<Self::Rows>, StoreError>;
}

/// The results of a batch, taken one statement at a time in the order they were written, so a
/// reader names what it reads instead of counting positions.
#[derive(Debug)]
pub struct Results<R> {
    rows: std::vec::IntoIter<R>,
}

impl<R: Rows> Results<R> {
    pub fn new(rows: Vec<R>) -> Self {
        Results { rows: rows.into_iter() }
    }

    pub fn next_rows(&mut self) -> Result<R, StoreError> {
        self.rows.next().ok_or_else(|| StoreError::failed("the batch has fewer results than statements"))
    }

    pub fn all<T: DeserializeOwned>(&mut self) -> Result<Vec<T>, StoreError> {
        self.next_rows()?.decode()
    }

    pub fn first<T: DeserializeOwned>(&mut self) -> Result<Option<T>, StoreError> {
        self.next_rows()?.first()
    }

    pub fn changes(&mut self) -> Result<u64, StoreError> {
        Ok(self.next_rows()?.changes())
    }
}

/// Runs a batch and hands its results back in order.
pub async fn run<D: Database>(db: &D, statements: Vec<Statement>) -> Result<Results<D::Rows>, StoreError> {
    Ok(Results::new(db.batch(statements).await?))
}

/// What a guarded batch came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Guarded<T> {
    Written(T),
    /// One of the batch's own guards refused it: the world changed since it was read (or the
    /// cause was already written). Nothing was written.
    Lost(Constraint),
}

impl<T> Guarded<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Guarded<U> {
        match self {
            Guarded::Written(value) => Guarded::Written(f(value)),
            Guarded::Lost(constraint) => Guarded::Lost(constraint),
        }
    }

    pub fn written(&self) -> bool {
        matches!(self, Guarded::Written(_))
    }
}

/// Runs a batch whose statements are written to fail when the world changed under them, and
/// tells a refusal by one of `guards` (the constraints those statements rely on) from any other
/// refusal, which is a defect and stays an error.
pub async fn guarded<D: Database>(
    db: &D,
    statements: Vec<Statement>,
    guards: &[Guard],
) -> Result<Guarded<Results<D::Rows>>, StoreError> {
    match db.batch(statements).await {
        Ok(rows) => Ok(Guarded::Written(Results::new(rows))),
        Err(StoreError::Refused(constraint)) if guards.iter().any(|g| g.matches(&constraint)) => {
            Ok(Guarded::Lost(constraint))
        }
        Err(error) => Err(error),
    }
}

/// The constraints this product's guarded writes rely on, written once: a state or version
/// written as `CASE WHEN <as read> THEN <new> END` (NULL, refused, when the row moved on), every
/// UNIQUE (a cause written once: a ledger `ref`, one success per checkout, one open payment per
/// checkout and provider, one open refund per order, a reward's key, an idempotency key, a
/// pickup code in use), and the stock CHECKs (never more held or sold than on hand). Any other
/// refusal (a negative ledger entry, an amount outside its CHECK, a foreign key, a trigger) is a
/// defect: an internal error, logged, never a "changed meanwhile".
pub const RACE_GUARDS: &[Guard] = &[
    Guard::State("chain_members.identity"),
    Guard::State("chain_members.version"),
    Guard::State("chain_members.team_version"),
    Guard::State("chain_members.conversion_version"),
    Guard::State("chain_network.version"),
    Guard::State("chain_orders.base_left_fen"),
    Guard::State("chain_rewards.state"),
    Guard::State("chain_rules.state"),
    Guard::State("chain_withdrawals.amount_fen"),
    Guard::State("chain_withdrawals.state"),
    Guard::State("cart_lines.quantity"),
    Guard::State("checkouts.state"),
    Guard::State("orders.state"),
    Guard::State("otp_codes.used"),
    Guard::State("payments.status"),
    Guard::State("profiles.version"),
    Guard::State("promotion_rules.version"),
    Guard::State("refunds.status"),
    // A supplier's import: another supplier's product, or a band that a store's price lies outside.
    Guard::State("skus.product_id"),
    Guard::State("skus.min_price_fen"),
    Guard::AnyUnique,
    Guard::Check("on_hand >= 0"),
    Guard::Check("reserved >= 0 AND reserved <= on_hand"),
];

/// A constraint a guarded batch relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Any UNIQUE or primary key.
    AnyUnique,
    /// `table.column` must not become NULL: a `CASE WHEN state = … END` state guard.
    State(&'static str),
    /// A UNIQUE over exactly these columns (`table.a, table.b`): the cause is already written.
    Unique(&'static str),
    /// A named CHECK (stock never below zero, a version bump).
    Check(&'static str),
}

impl Guard {
    pub fn matches(self, constraint: &Constraint) -> bool {
        match (self, constraint) {
            (Guard::State(column), Constraint::NotNull(refused)) => refused == column,
            (Guard::Unique(columns), Constraint::Unique(refused)) => refused == columns,
            (Guard::AnyUnique, Constraint::Unique(_)) => true,
            (Guard::Check(name), Constraint::Check(refused)) => refused == name,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_refusals_are_read_from_sqlite_and_d1_messages() {
        assert_eq!(
            StoreError::from_message(
                "D1_ERROR: UNIQUE constraint failed: payments.checkout_id, payments.provider: SQLITE_CONSTRAINT"
            ),
            StoreError::Refused(Constraint::Unique("payments.checkout_id, payments.provider".into()))
        );
        assert_eq!(
            StoreError::from_message("NOT NULL constraint failed: orders.state"),
            StoreError::Refused(Constraint::NotNull("orders.state".into()))
        );
        assert_eq!(
            StoreError::from_message("CHECK constraint failed: reserved <= on_hand"),
            StoreError::Refused(Constraint::Check("reserved <= on_hand".into()))
        );
        assert_eq!(
            StoreError::from_message("D1_ERROR: shelf price outside the supplier band: SQLITE_CONSTRAINT"),
            StoreError::Refused(Constraint::Trigger("shelf price outside the supplier band".into()))
        );
        assert_eq!(
            StoreError::from_message("D1_ERROR: no such table: secrets"),
            StoreError::Failed("D1_ERROR: no such table: secrets".into())
        );
    }

    #[test]
    fn a_guard_matches_only_its_own_constraint() {
        assert!(Guard::State("orders.state").matches(&Constraint::NotNull("orders.state".into())));
        assert!(!Guard::State("orders.state").matches(&Constraint::NotNull("payments.status".into())));
        assert!(!Guard::State("orders.state").matches(&Constraint::Check("orders.state".into())));
        assert!(Guard::Unique("a.b").matches(&Constraint::Unique("a.b".into())));
        let race = |c: Constraint| RACE_GUARDS.iter().any(|g| g.matches(&c));
        assert!(race(Constraint::NotNull("orders.state".into())));
        assert!(!race(Constraint::Check("debit_fen >= 0".into())), "a negative ledger entry is a defect");
        assert!(!race(Constraint::NotNull("orders.member_id".into())));
    }
}
