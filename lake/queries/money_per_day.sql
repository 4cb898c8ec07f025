-- Money recorded per UTC day (the day of occurred_at), as the analytics consumer's daily counters add it:
-- payments; charges, where a statement adds its difference (below zero for a credit); and the part of the
-- charges that is interest. A statement books its lender's interest whole whenever its difference is not
-- zero, and nothing when it is (domain::debt::NewStatement::booking), so its booked interest is
-- interest_charged then.
SELECT
  event_date,
  SUM(CASE WHEN event_type = 'PaymentRecorded' THEN data.amount ELSE 0 END) AS paid,
  SUM(CASE WHEN event_type = 'ChargeAdded' THEN data.amount
           WHEN event_type = 'StatementRecorded' THEN data.difference
           ELSE 0 END) AS charged,
  SUM(CASE WHEN event_type = 'ChargeAdded' AND data.kind = 'interest' THEN data.amount
           WHEN event_type = 'StatementRecorded' AND data.difference <> 0 THEN COALESCE(data.interest_charged, 0)
           ELSE 0 END) AS interest
FROM events
WHERE event_type IN ('PaymentRecorded', 'ChargeAdded', 'StatementRecorded')
GROUP BY event_date
ORDER BY event_date
