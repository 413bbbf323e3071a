-- Withdrawals of rewards (chain21.md, "Reward lifecycle") and a sharer's name on its poster.
-- Money moves in the ledger: a request holds the amount in `member:{id}:withdrawing`, the
-- operator pays it out (`:paid_out`) or rejects it (back to `:available`).

CREATE TABLE chain_withdrawals (
    id            TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 80),
    member_id     TEXT NOT NULL REFERENCES chain_members (member_id),
    -- The client's key for the request: the same key twice is one withdrawal.
    request_key   TEXT NOT NULL CHECK (length(request_key) BETWEEN 8 AND 64),
    amount_fen    INTEGER NOT NULL CHECK (amount_fen > 0),
    state         TEXT NOT NULL CHECK (state IN ('requested', 'paid', 'rejected')),
    requested_at  INTEGER NOT NULL,
    decided_at    INTEGER,
    note          TEXT CHECK (note IS NULL OR length(note) <= 200),
    CHECK ((state = 'requested') = (decided_at IS NULL)),
    UNIQUE (member_id, request_key)
) STRICT;
CREATE INDEX chain_withdrawals_by_member ON chain_withdrawals (member_id, requested_at);
CREATE INDEX chain_withdrawals_by_state ON chain_withdrawals (state, requested_at);

ALTER TABLE chain_members ADD COLUMN display_name TEXT CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 20);
CREATE INDEX chain_orders_by_buyer ON chain_orders (buyer, paid_at);
