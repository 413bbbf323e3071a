-- The 链动2+1 distribution network (chain21.md): rules versions, members' places in the one
-- network of the platform, visits of share links, the orders that carry rewards and the
-- rewards themselves. Money moves in the ledger (money.md); `chain_rewards` says, per reward,
-- how much of it is where.

-- Which lines count: a property of the product, set by the operator.
ALTER TABLE products ADD COLUMN designated INTEGER NOT NULL DEFAULT 0 CHECK (designated IN (0, 1));
ALTER TABLE products ADD COLUMN commissionable INTEGER NOT NULL DEFAULT 1 CHECK (commissionable IN (0, 1));

-- The ledger takes the reward movements too: rebuilt with the wider set of kinds.
PRAGMA defer_foreign_keys = on;
CREATE TABLE ledger_transactions_next (
    id        TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 80),
    kind      TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'reward', 'freeze', 'thaw', 'void',
                  'clawback', 'withdrawal')),
    ref       TEXT NOT NULL UNIQUE,
    order_id  TEXT REFERENCES orders (id),
    at        INTEGER NOT NULL
) STRICT;
INSERT INTO ledger_transactions_next (id, kind, ref, order_id, at)
    SELECT id, kind, ref, order_id, at FROM ledger_transactions;
DROP TABLE ledger_transactions;
ALTER TABLE ledger_transactions_next RENAME TO ledger_transactions;
CREATE INDEX ledger_transactions_by_order ON ledger_transactions (order_id);
CREATE TRIGGER ledger_transactions_are_never_changed BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_are_never_deleted BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;

-- Rule sets by version. One is published at a time; the versions before it stay for the
-- orders placed under them. `body` is the rule set as JSON; `acknowledged` the compliance
-- findings the operator acknowledged when publishing it.
CREATE TABLE chain_rules (
    version       INTEGER PRIMARY KEY CHECK (version >= 1),
    body          TEXT NOT NULL CHECK (json_valid(body)),
    state         TEXT NOT NULL CHECK (state IN ('draft', 'published', 'retired')),
    created_at    INTEGER NOT NULL,
    published_at  INTEGER,
    acknowledged  TEXT CHECK (acknowledged IS NULL OR json_valid(acknowledged)),
    CHECK ((state = 'draft') = (published_at IS NULL))
) STRICT;
CREATE UNIQUE INDEX chain_rules_one_published ON chain_rules (state) WHERE state = 'published';

-- One row whose version every change to the network bumps, conditionally: two payments that
-- read the network at the same version cannot both write, so concurrent payments give the
-- result of some serial order (the loser reads again and recomputes).
CREATE TABLE chain_network (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL CHECK (version >= 0)
) STRICT;
INSERT INTO chain_network (id, version) VALUES (1, 0);

-- A member's place (chain21.md, "Placement"). `fixed` = 1: the team leader is `fixed_leader`
-- for good (slid, or placed under a partner); 0: through the inviter.
CREATE TABLE chain_members (
    member_id           TEXT PRIMARY KEY REFERENCES members (id),
    invite_code         TEXT NOT NULL UNIQUE CHECK (length(invite_code) BETWEEN 6 AND 16),
    inviter             TEXT REFERENCES chain_members (member_id),
    identity            TEXT NOT NULL DEFAULT 'member' CHECK (identity IN ('member', 'agent', 'partner')),
    fixed               INTEGER NOT NULL DEFAULT 0 CHECK (fixed IN (0, 1)),
    fixed_leader        TEXT,
    origin_leader       TEXT,
    qualifying_directs  INTEGER NOT NULL DEFAULT 0 CHECK (qualifying_directs >= 0),
    ever_qualified      INTEGER NOT NULL DEFAULT 0 CHECK (ever_qualified IN (0, 1)),
    qualifying_order    TEXT,
    spend_fen           INTEGER NOT NULL DEFAULT 0,
    has_paid            INTEGER NOT NULL DEFAULT 0 CHECK (has_paid IN (0, 1)),
    last_paid_at        INTEGER,
    bound_at            INTEGER,
    joined_at           INTEGER NOT NULL,
    CHECK (inviter IS NULL OR inviter <> member_id)
) STRICT;
CREATE INDEX chain_members_by_inviter ON chain_members (inviter);

-- Opened share links: who shared, who opened (a member id, or an anonymous visitor key).
CREATE TABLE chain_visits (
    sharer   TEXT NOT NULL REFERENCES chain_members (member_id),
    visitor  TEXT NOT NULL CHECK (length(visitor) BETWEEN 1 AND 64),
    at       INTEGER NOT NULL,
    PRIMARY KEY (sharer, visitor, at)
) STRICT, WITHOUT ROWID;

-- An order as the network saw it when paid: its base and what is left of it after refunds,
-- the team whose GMV it counts toward, the rules version in force.
CREATE TABLE chain_orders (
    order_id       TEXT PRIMARY KEY REFERENCES orders (id),
    buyer          TEXT NOT NULL REFERENCES chain_members (member_id),
    store_id       TEXT NOT NULL REFERENCES stores (id),
    rules_version  INTEGER NOT NULL REFERENCES chain_rules (version),
    base_fen       INTEGER NOT NULL CHECK (base_fen >= 0),
    base_left_fen  INTEGER NOT NULL CHECK (base_left_fen BETWEEN 0 AND base_fen),
    team_leader    TEXT,
    paid_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX chain_orders_by_team ON chain_orders (team_leader, paid_at);

-- One reward, posted once: the key is (order, beneficiary, kind, generation). `rate_bp` and
-- `of_team_bp` let a refund recompute it with the rates of the payment.
CREATE TABLE chain_rewards (
    order_id       TEXT NOT NULL REFERENCES chain_orders (order_id),
    beneficiary    TEXT NOT NULL REFERENCES chain_members (member_id),
    kind           TEXT NOT NULL CHECK (kind IN ('direct', 'indirect', 'team', 'peer', 'bonus')),
    generation     INTEGER NOT NULL CHECK (generation IN (1, 2)),
    position       INTEGER NOT NULL CHECK (position >= 0),
    rate_bp        INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    of_team_bp     INTEGER CHECK (of_team_bp IS NULL OR of_team_bp BETWEEN 0 AND 10000),
    amount_fen     INTEGER NOT NULL CHECK (amount_fen >= 0),
    state          TEXT NOT NULL CHECK (state IN ('pending', 'frozen', 'available')),
    thaw_at        INTEGER,
    voided_fen     INTEGER NOT NULL DEFAULT 0 CHECK (voided_fen >= 0),
    clawback_fen   INTEGER NOT NULL DEFAULT 0 CHECK (clawback_fen >= 0),
    rules_version  INTEGER NOT NULL REFERENCES chain_rules (version),
    posted_at      INTEGER NOT NULL,
    CHECK ((state = 'frozen') <= (thaw_at IS NOT NULL)),
    PRIMARY KEY (order_id, beneficiary, kind, generation)
) STRICT, WITHOUT ROWID;
CREATE INDEX chain_rewards_by_beneficiary ON chain_rewards (beneficiary, posted_at);
CREATE INDEX chain_rewards_to_thaw ON chain_rewards (state, thaw_at);
