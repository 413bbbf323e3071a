-- The S2B2C catalogue: suppliers own products and SKUs; stores put SKUs on their shelf at a
-- price inside the supplier's band; stock is counted per location (a supplier's warehouse or a
-- store). Ids are short slugs made by the domain's id types; money is integer fen.

CREATE TABLE suppliers (
    id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    name_zh     TEXT NOT NULL CHECK (length(name_zh) > 0),
    name_en     TEXT NOT NULL CHECK (length(name_en) > 0),
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE stores (
    id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    name_zh     TEXT NOT NULL CHECK (length(name_zh) > 0),
    name_en     TEXT NOT NULL CHECK (length(name_en) > 0),
    city_zh     TEXT NOT NULL,
    city_en     TEXT NOT NULL,
    address_zh  TEXT NOT NULL,
    address_en  TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE products (
    id              TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    supplier_id     TEXT NOT NULL REFERENCES suppliers (id),
    category        TEXT NOT NULL CHECK (category IN ('clothing', 'beauty', 'baby', 'snacks', 'home')),
    name_zh         TEXT NOT NULL CHECK (length(name_zh) > 0),
    name_en         TEXT NOT NULL CHECK (length(name_en) > 0),
    description_zh  TEXT NOT NULL,
    description_en  TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX products_by_supplier ON products (supplier_id, id);

CREATE TABLE media (
    product_id  TEXT NOT NULL REFERENCES products (id),
    position    INTEGER NOT NULL CHECK (position >= 0),
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'model')),
    url         TEXT NOT NULL CHECK (url LIKE '/%'),
    alt_zh      TEXT NOT NULL,
    alt_en      TEXT NOT NULL,
    PRIMARY KEY (product_id, position)
) STRICT, WITHOUT ROWID;

-- A SKU carries the supplier's terms: what a store pays for it and the retail band it allows.
CREATE TABLE skus (
    id                TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    product_id        TEXT NOT NULL REFERENCES products (id),
    position          INTEGER NOT NULL CHECK (position >= 0),
    size              TEXT,
    colour_zh         TEXT,
    colour_en         TEXT,
    supply_price_fen  INTEGER NOT NULL CHECK (supply_price_fen > 0),
    min_price_fen     INTEGER NOT NULL CHECK (min_price_fen >= supply_price_fen),
    max_price_fen     INTEGER NOT NULL CHECK (max_price_fen >= min_price_fen),
    CHECK ((colour_zh IS NULL) = (colour_en IS NULL)),
    UNIQUE (product_id, position)
) STRICT;

-- One row per SKU a store sells. The band check is repeated here in SQL (the domain checks it,
-- and the margin guard, before writing) so no path into the table can store a price outside it.
CREATE TABLE shelf_items (
    store_id    TEXT NOT NULL REFERENCES stores (id),
    sku_id      TEXT NOT NULL REFERENCES skus (id),
    product_id  TEXT NOT NULL REFERENCES products (id),
    price_fen   INTEGER NOT NULL CHECK (price_fen > 0),
    listed_at   TEXT NOT NULL,
    PRIMARY KEY (store_id, sku_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX shelf_by_store_product ON shelf_items (store_id, product_id);

CREATE TRIGGER shelf_price_in_band_on_insert BEFORE INSERT ON shelf_items
WHEN NOT EXISTS (
    SELECT 1 FROM skus
    WHERE skus.id = NEW.sku_id AND skus.product_id = NEW.product_id
      AND NEW.price_fen BETWEEN skus.min_price_fen AND skus.max_price_fen
)
BEGIN
    SELECT RAISE(ABORT, 'shelf price outside the supplier band');
END;

CREATE TRIGGER shelf_price_in_band_on_update BEFORE UPDATE OF price_fen, sku_id, product_id ON shelf_items
WHEN NOT EXISTS (
    SELECT 1 FROM skus
    WHERE skus.id = NEW.sku_id AND skus.product_id = NEW.product_id
      AND NEW.price_fen BETWEEN skus.min_price_fen AND skus.max_price_fen
)
BEGIN
    SELECT RAISE(ABORT, 'shelf price outside the supplier band');
END;

-- Where stock is kept: each location belongs to exactly one supplier or one store.
CREATE TABLE locations (
    id           TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    kind         TEXT NOT NULL CHECK (kind IN ('supplier_warehouse', 'store')),
    supplier_id  TEXT REFERENCES suppliers (id),
    store_id     TEXT REFERENCES stores (id),
    name_zh      TEXT NOT NULL,
    name_en      TEXT NOT NULL,
    CHECK ((kind = 'supplier_warehouse' AND supplier_id IS NOT NULL AND store_id IS NULL)
        OR (kind = 'store' AND store_id IS NOT NULL AND supplier_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX one_location_per_store ON locations (store_id) WHERE store_id IS NOT NULL;
CREATE UNIQUE INDEX one_warehouse_per_supplier ON locations (supplier_id) WHERE supplier_id IS NOT NULL;

-- Units on hand and units held by unpaid checkouts; never negative, never more held than held.
CREATE TABLE stock (
    location_id  TEXT NOT NULL REFERENCES locations (id),
    sku_id       TEXT NOT NULL REFERENCES skus (id),
    on_hand      INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved     INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    PRIMARY KEY (location_id, sku_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX stock_by_sku ON stock (sku_id);
