-- Versions per member in place of one version for the whole network (issue 15): a payment
-- checks the versions of what its decisions read and moves the versions of what it changed,
-- so two payments conflict only when one changed what the other read, and payments of
-- unrelated buyers never refuse each other.
--   version             the member's record (identity, placement, counts, spend, payment)
--   team_version        the GMV of the team it leads (orders paid into it, refunds of them)
--   conversion_version  the conversion of its share links (a visitor's first payment in the window)
-- `chain_network.version` stays as the epoch of the published rules: publishing moves it, and
-- a payment read under the rules before is refused and reads the new ones.
ALTER TABLE chain_members ADD COLUMN version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0);
ALTER TABLE chain_members ADD COLUMN team_version INTEGER NOT NULL DEFAULT 0 CHECK (team_version >= 0);
ALTER TABLE chain_members ADD COLUMN conversion_version INTEGER NOT NULL DEFAULT 0 CHECK (conversion_version >= 0);

-- The sharers whose links a buyer opened: read by every payment.
CREATE INDEX chain_visits_by_visitor ON chain_visits (visitor, at);
