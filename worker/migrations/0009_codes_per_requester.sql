-- One live sign-in code per phone and requester (a keyed hash of the client's address), so a
-- stranger asking for codes for someone's phone never voids the code the owner was sent. Wrong
-- tries are counted in `rate_counters`, per requester and per phone, not on the code. Codes
-- live five minutes, so the old ones are simply dropped.
DROP TABLE otp_codes;
CREATE TABLE otp_codes (
    phone_hash  TEXT NOT NULL CHECK (length(phone_hash) = 64),
    requester   TEXT NOT NULL CHECK (length(requester) = 64),
    code_hash   TEXT NOT NULL CHECK (length(code_hash) = 64),
    expires_at  INTEGER NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (phone_hash, requester)
) STRICT, WITHOUT ROWID;
