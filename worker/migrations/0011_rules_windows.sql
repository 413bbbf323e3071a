-- The two windows a payment reads with the published rules, as columns written from the typed
-- rules when a version is saved (`store::rules::insert_draft`): the period of a team's GMV
-- (`peer.period_days`) and of a link's conversion (`dynamic.window_days`). The payment's read
-- filters by them in SQL; reading them out of the JSON body would fall back to a default
-- without a word if the domain ever renamed the field.
ALTER TABLE chain_rules ADD COLUMN team_period_days INTEGER NOT NULL DEFAULT 30
    CHECK (team_period_days BETWEEN 1 AND 366);
ALTER TABLE chain_rules ADD COLUMN conversion_window_days INTEGER NOT NULL DEFAULT 30
    CHECK (conversion_window_days BETWEEN 1 AND 366);
UPDATE chain_rules SET
    team_period_days = coalesce(json_extract(body, '$.peer.period_days'), 30),
    conversion_window_days = coalesce(json_extract(body, '$.dynamic.window_days'), 30);
