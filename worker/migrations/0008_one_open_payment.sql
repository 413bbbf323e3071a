-- One open payment per checkout and provider: concurrent requests to pay one checkout get the
-- same payment, so a real provider can never charge the shopper twice for it. Payments opened
-- twice before this index existed keep their newest; the older are closed as failed (none of
-- them was ever notified, or it would not be open).
UPDATE payments SET status = 'failed'
WHERE status = 'created'
  AND EXISTS (
      SELECT 1 FROM payments newer
      WHERE newer.checkout_id = payments.checkout_id AND newer.provider = payments.provider
        AND newer.status = 'created'
        AND (newer.created_at > payments.created_at OR (newer.created_at = payments.created_at AND newer.id > payments.id))
  );
CREATE UNIQUE INDEX one_open_payment_per_checkout ON payments (checkout_id, provider) WHERE status = 'created';
