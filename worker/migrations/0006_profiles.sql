-- The AI business card's memory: consent, behaviour events, profiles, in-store devices and the
-- recommender's trained model.
--
-- A subject is a signed-in member (`m:{member id}`) or an anonymous visitor who consented
-- (`v:{visitor id}`).

-- What a person agreed to. No behavioural event is stored without `behaviour = 1`;
-- `personalised = 0` gives them the non-personalised experience everywhere.
CREATE TABLE consents (
    subject       TEXT PRIMARY KEY CHECK (subject LIKE 'm:%' OR subject LIKE 'v:%'),
    behaviour     INTEGER NOT NULL CHECK (behaviour IN (0, 1)),
    personalised  INTEGER NOT NULL CHECK (personalised IN (0, 1)),
    updated_at    INTEGER NOT NULL
) STRICT;

-- One row per event; the client's id is unique per subject, so a repeated id is one event.
CREATE TABLE behaviour_events (
    subject     TEXT NOT NULL,
    event_id    TEXT NOT NULL CHECK (length(event_id) BETWEEN 8 AND 64),
    kind        TEXT NOT NULL CHECK (kind IN ('view', 'click', 'favourite', 'cart', 'share', 'search',
                                              'check_in', 'try_on', 'store_purchase', 'body')),
    product_id  TEXT,
    store_id    TEXT,
    at          INTEGER NOT NULL,
    -- `app`, `clerk:{staff phone hash prefix}` or `device:{device id}`.
    source      TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (subject, event_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX behaviour_events_by_product ON behaviour_events (product_id, at) WHERE product_id IS NOT NULL;
CREATE INDEX behaviour_events_by_time ON behaviour_events (at);
-- A person's latest touches, read by every recommendation they are shown.
CREATE INDEX behaviour_events_by_subject_time ON behaviour_events (subject, at);

-- The profile folded from a subject's events; `version` guards concurrent updates (a batch
-- whose read version moved writes nothing and is retried).
CREATE TABLE profiles (
    subject     TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    updated_at  INTEGER NOT NULL
) STRICT;

-- In-store devices (smart mirrors, check-in kiosks): each has its own key, stored hashed.
CREATE TABLE store_devices (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores (id),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
CREATE INDEX store_devices_by_store ON store_devices (store_id);

-- The recommender as last trained (the cron rebuilds it): item ids, popularity, neighbour
-- lists and learned weights as one JSON document.
CREATE TABLE recommender_models (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    body        TEXT NOT NULL,
    events      INTEGER NOT NULL,
    built_at    INTEGER NOT NULL
) STRICT;
