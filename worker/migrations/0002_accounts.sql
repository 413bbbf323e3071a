-- Accounts: members identified by phone, one-time sign-in codes, sessions, rate counters.
-- A phone number is never stored in clear: `phone_hash` is a keyed hash to look it up by and
-- `phone_enc` the number sealed with AES-256-GCM under a Worker secret.

CREATE TABLE members (
    id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    phone_hash  TEXT NOT NULL UNIQUE CHECK (length(phone_hash) = 64),
    phone_enc   TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- The live code of a phone: a new request replaces it. Only a keyed hash of the code is kept.
CREATE TABLE otp_codes (
    phone_hash  TEXT PRIMARY KEY CHECK (length(phone_hash) = 64),
    code_hash   TEXT NOT NULL CHECK (length(code_hash) = 64),
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    used        INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    created_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Sessions by the SHA-256 of their token; the token itself exists only in the browser's cookie.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
    member_id   TEXT NOT NULL REFERENCES members (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_by_member ON sessions (member_id);

-- Fixed-window counters for rate limits (`key` names the limit and who it applies to).
CREATE TABLE rate_counters (
    key     TEXT NOT NULL,
    window  INTEGER NOT NULL,
    count   INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (key, window)
) STRICT, WITHOUT ROWID;
