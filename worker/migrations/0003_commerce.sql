-- Commerce: staff and roles, carts, checkouts with their stock holds, orders and their
-- timelines, payments, refunds, and the double-entry ledger.
--
-- Writes that must happen together run in one D1 batch, which is one transaction. A batch
-- that must not go through when the world changed under it carries a statement that fails
-- in that case, so the whole batch rolls back: a stock hold that would over-reserve breaks
-- `stock`'s CHECK; a state change written as `state = CASE WHEN state = 'old' THEN 'new' END`
-- stores NULL, which NOT NULL refuses, when the row is no longer in the old state.

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- The platform's fee on goods and the distribution cap, in basis points (money.md).
INSERT INTO settings (key, value) VALUES ('platform_fee_bp', 500), ('distribution_cap_bp', 3500);

ALTER TABLE stores ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended'));
ALTER TABLE suppliers ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended'));

-- Who works where: a phone (by its keyed hash) is the owner or a clerk of a store, or staff
-- of a supplier. Roles follow the phone, so an invitation works before the first sign-in.
CREATE TABLE staff (
    scope       TEXT NOT NULL CHECK (scope IN ('store', 'supplier')),
    scope_id    TEXT NOT NULL CHECK (length(scope_id) BETWEEN 1 AND 40),
    phone_hash  TEXT NOT NULL CHECK (length(phone_hash) = 64),
    phone_enc   TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'clerk', 'staff')),
    added_at    INTEGER NOT NULL,
    CHECK ((scope = 'store' AND role IN ('owner', 'clerk')) OR (scope = 'supplier' AND role = 'staff')),
    PRIMARY KEY (scope, scope_id, phone_hash)
) STRICT, WITHOUT ROWID;
CREATE INDEX staff_by_phone ON staff (phone_hash);

-- A cart belongs to a member, or (before sign-in) to the random id in the `tandem_cart` cookie.
CREATE TABLE carts (
    id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    member_id   TEXT UNIQUE REFERENCES members (id),
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE cart_lines (
    cart_id     TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    store_id    TEXT NOT NULL REFERENCES stores (id),
    sku_id      TEXT NOT NULL REFERENCES skus (id),
    fulfilment  TEXT NOT NULL CHECK (fulfilment IN ('pickup', 'delivery')),
    quantity    INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (cart_id, store_id, sku_id, fulfilment)
) STRICT, WITHOUT ROWID;

-- One checkout: what the shopper pays once. Its orders hold stock until `hold_expires_at`.
CREATE TABLE checkouts (
    id               TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    member_id        TEXT NOT NULL REFERENCES members (id),
    store_id         TEXT NOT NULL REFERENCES stores (id),
    state            TEXT NOT NULL CHECK (state IN ('awaiting_payment', 'paid', 'cancelled')),
    total_fen        INTEGER NOT NULL CHECK (total_fen > 0),
    address          TEXT,
    hold_expires_at  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    closed_at        INTEGER
) STRICT;
CREATE INDEX checkouts_awaiting_by_expiry ON checkouts (hold_expires_at) WHERE state = 'awaiting_payment';
CREATE INDEX checkouts_by_member ON checkouts (member_id, created_at);

-- The first answer to each (member, Idempotency-Key), replayed for a repeat of the same request.
CREATE TABLE idempotency_keys (
    member_id     TEXT NOT NULL REFERENCES members (id),
    key           TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 100),
    request_hash  TEXT NOT NULL CHECK (length(request_hash) = 64),
    status        INTEGER NOT NULL,
    response      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (member_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE orders (
    id                     TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    checkout_id            TEXT NOT NULL REFERENCES checkouts (id),
    member_id              TEXT NOT NULL REFERENCES members (id),
    store_id               TEXT NOT NULL REFERENCES stores (id),
    fulfilment             TEXT NOT NULL CHECK (fulfilment IN ('pickup', 'delivery')),
    shipper_id             TEXT REFERENCES suppliers (id),
    state                  TEXT NOT NULL CHECK (state IN ('awaiting_payment', 'paid', 'ready_for_pickup',
                               'picked_up', 'shipped', 'delivered', 'completed', 'cancelled',
                               'refund_requested', 'refunded', 'partially_refunded')),
    state_before_refund    TEXT,
    goods_fen              INTEGER NOT NULL CHECK (goods_fen > 0),
    shipping_fen           INTEGER NOT NULL CHECK (shipping_fen >= 0),
    total_fen              INTEGER NOT NULL CHECK (total_fen = goods_fen + shipping_fen),
    refunded_goods_fen     INTEGER NOT NULL DEFAULT 0 CHECK (refunded_goods_fen BETWEEN 0 AND goods_fen),
    refunded_shipping_fen  INTEGER NOT NULL DEFAULT 0 CHECK (refunded_shipping_fen BETWEEN 0 AND shipping_fen),
    -- The platform fee when the order was placed: a later change of the rate does not reach it.
    platform_fee_bp        INTEGER NOT NULL CHECK (platform_fee_bp BETWEEN 0 AND 10000),
    pickup_code            TEXT CHECK (pickup_code IS NULL OR length(pickup_code) = 8),
    carrier                TEXT,
    tracking_no            TEXT,
    created_at             INTEGER NOT NULL,
    paid_at                INTEGER,
    handed_over_at         INTEGER,
    completed_at           INTEGER,
    CHECK ((fulfilment = 'pickup') = (shipper_id IS NULL)),
    CHECK (fulfilment = 'pickup' OR pickup_code IS NULL)
) STRICT;
CREATE INDEX orders_by_checkout ON orders (checkout_id);
CREATE INDEX orders_by_member ON orders (member_id, created_at);
CREATE INDEX orders_by_store ON orders (store_id, created_at);
CREATE INDEX orders_by_shipper ON orders (shipper_id, created_at) WHERE shipper_id IS NOT NULL;
CREATE UNIQUE INDEX pickup_codes_per_store ON orders (store_id, pickup_code) WHERE pickup_code IS NOT NULL;
CREATE INDEX orders_to_complete ON orders (handed_over_at) WHERE state IN ('picked_up', 'delivered');

-- What was bought, as it was when it was bought (names and prices are copies).
CREATE TABLE order_lines (
    order_id     TEXT NOT NULL REFERENCES orders (id),
    position     INTEGER NOT NULL CHECK (position >= 0),
    sku_id       TEXT NOT NULL REFERENCES skus (id),
    product_id   TEXT NOT NULL REFERENCES products (id),
    supplier_id  TEXT NOT NULL REFERENCES suppliers (id),
    location_id  TEXT NOT NULL REFERENCES locations (id),
    quantity     INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    price_fen    INTEGER NOT NULL CHECK (price_fen > 0),
    supply_fen   INTEGER NOT NULL CHECK (supply_fen > 0),
    name_zh      TEXT NOT NULL,
    name_en      TEXT NOT NULL,
    variant_zh   TEXT NOT NULL,
    variant_en   TEXT NOT NULL,
    PRIMARY KEY (order_id, position)
) STRICT, WITHOUT ROWID;

-- An order's timeline: one row per state change, never changed.
CREATE TABLE order_events (
    id        INTEGER PRIMARY KEY,
    order_id  TEXT NOT NULL REFERENCES orders (id),
    event     TEXT NOT NULL,
    state     TEXT NOT NULL,
    actor     TEXT NOT NULL CHECK (actor IN ('shopper', 'store', 'supplier', 'operator', 'system', 'provider')),
    note      TEXT,
    at        INTEGER NOT NULL
) STRICT;
CREATE INDEX order_events_by_order ON order_events (order_id, id);

-- A payment asked of a provider for a checkout. At most one succeeds per checkout.
CREATE TABLE payments (
    id           TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    checkout_id  TEXT NOT NULL REFERENCES checkouts (id),
    provider     TEXT NOT NULL CHECK (provider IN ('dev')),
    amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
    status       TEXT NOT NULL CHECK (status IN ('created', 'succeeded', 'failed', 'returned')),
    created_at   INTEGER NOT NULL,
    notified_at  INTEGER
) STRICT;
CREATE INDEX payments_by_checkout ON payments (checkout_id);
CREATE UNIQUE INDEX one_success_per_checkout ON payments (checkout_id) WHERE status = 'succeeded';

CREATE TABLE refunds (
    id            TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    order_id      TEXT NOT NULL REFERENCES orders (id),
    status        TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected')),
    reason        TEXT NOT NULL CHECK (length(reason) <= 500),
    goods_fen     INTEGER CHECK (goods_fen IS NULL OR goods_fen >= 0),
    shipping_fen  INTEGER CHECK (shipping_fen IS NULL OR shipping_fen >= 0),
    requested_at  INTEGER NOT NULL,
    decided_at    INTEGER
) STRICT;
CREATE INDEX refunds_by_order ON refunds (order_id);
CREATE UNIQUE INDEX one_open_refund_per_order ON refunds (order_id) WHERE status = 'requested';

-- The ledger (money.md). `ref` names what caused a transaction, once: `payment:{order}`,
-- `refund:{refund}`. Entries are appended and never changed or deleted.
CREATE TABLE ledger_transactions (
    id        TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 60),
    kind      TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    ref       TEXT NOT NULL UNIQUE,
    order_id  TEXT REFERENCES orders (id),
    at        INTEGER NOT NULL
) STRICT;
CREATE INDEX ledger_transactions_by_order ON ledger_transactions (order_id);

CREATE TABLE ledger_entries (
    transaction_id  TEXT NOT NULL REFERENCES ledger_transactions (id),
    position        INTEGER NOT NULL CHECK (position >= 0),
    account         TEXT NOT NULL CHECK (length(account) > 0),
    debit_fen       INTEGER NOT NULL CHECK (debit_fen >= 0),
    credit_fen      INTEGER NOT NULL CHECK (credit_fen >= 0),
    CHECK ((debit_fen = 0) <> (credit_fen = 0)),
    PRIMARY KEY (transaction_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX ledger_entries_by_account ON ledger_entries (account, transaction_id);

CREATE TRIGGER ledger_transactions_are_never_changed BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_are_never_deleted BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_entries_are_never_changed BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_entries_are_never_deleted BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
