-- The AI business card: one code per person or store, who opened which card, which clerk a
-- customer came through, and the promotion rules by segment.
--
-- A person's code is their invite code (`chain_members.invite_code`, 8 characters); a store's
-- code is 10 characters, so the two never collide. A card row exists once its owner edits it
-- (a person) or the store is created (a store); until then a person's card shows defaults.

CREATE TABLE cards (
    code        TEXT PRIMARY KEY CHECK (length(code) BETWEEN 6 AND 16),
    member_id   TEXT UNIQUE REFERENCES members (id),
    store_id    TEXT UNIQUE REFERENCES stores (id),
    title       TEXT CHECK (title IS NULL OR length(title) BETWEEN 1 AND 30),
    bio         TEXT CHECK (bio IS NULL OR length(bio) BETWEEN 1 AND 200),
    wechat      TEXT CHECK (wechat IS NULL OR length(wechat) BETWEEN 6 AND 20),
    email       TEXT CHECK (email IS NULL OR length(email) BETWEEN 3 AND 80),
    show_phone  INTEGER NOT NULL DEFAULT 0 CHECK (show_phone IN (0, 1)),
    -- A JSON array of product ids.
    featured    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(featured)),
    -- `/api/media/{key}` of an uploaded photo.
    photo       TEXT,
    updated_at  INTEGER NOT NULL,
    CHECK ((member_id IS NULL) <> (store_id IS NULL))
) STRICT;

-- Who opened a card, a product shared from it, or scanned a store's door code. `visitor` is a
-- subject (`m:…`, `v:…`) or an anonymous browser (`anon:…`).
CREATE TABLE card_visits (
    code        TEXT NOT NULL CHECK (length(code) BETWEEN 6 AND 16),
    visitor     TEXT NOT NULL CHECK (length(visitor) BETWEEN 3 AND 64),
    kind        TEXT NOT NULL CHECK (kind IN ('card', 'product', 'door')),
    product_id  TEXT,
    at          INTEGER NOT NULL,
    PRIMARY KEY (code, visitor, at, kind)
) STRICT, WITHOUT ROWID;
CREATE INDEX card_visits_by_visitor ON card_visits (visitor);
CREATE INDEX card_visits_by_code_time ON card_visits (code, at);

-- The clerk a customer came through, per store: the first clerk's card they opened.
CREATE TABLE clerk_customers (
    store_id    TEXT NOT NULL REFERENCES stores (id),
    subject     TEXT NOT NULL CHECK (length(subject) BETWEEN 3 AND 64),
    clerk       TEXT NOT NULL REFERENCES members (id),
    via_code    TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (store_id, subject)
) STRICT, WITHOUT ROWID;
CREATE INDEX clerk_customers_by_clerk ON clerk_customers (clerk, at);

-- Promotion rules by segment: the platform's (`platform`) and each store's (`store:{id}`),
-- a JSON array checked by `domain::promote` before it is written.
CREATE TABLE promotion_rules (
    scope       TEXT PRIMARY KEY CHECK (scope = 'platform' OR scope LIKE 'store:%'),
    body        TEXT NOT NULL CHECK (json_valid(body)),
    version     INTEGER NOT NULL CHECK (version >= 1),
    updated_at  INTEGER NOT NULL
) STRICT;
