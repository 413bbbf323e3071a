-- Flash sales (issue 15): a stock row its owner marks for a rush. Every checkout that holds
-- units of a marked row asks the row's stock gate first (a Durable Object, `HotStock`), which
-- answers the losers of a rush without writing here; the winners hold their units in this
-- table as every checkout does, so `stock`'s CHECK stays the last word on overselling.
ALTER TABLE stock ADD COLUMN flash_sale INTEGER NOT NULL DEFAULT 0 CHECK (flash_sale IN (0, 1));
