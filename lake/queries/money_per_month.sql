-- Payments, interest and fees per month of their own dates (paid_on, charged_on, a statement's
-- closing_date), as GET /users/{u}/progress places them: charges of kind interest or fee, and what
-- statements booked (their lender's interest and fees, whole, when the difference is not zero).
SELECT month, SUM(paid) AS paid, SUM(interest) AS interest, SUM(fees) AS fees
FROM (
  SELECT substr(CAST(data.paid_on AS varchar), 1, 7) AS month, data.amount AS paid, 0 AS interest, 0 AS fees
  FROM events WHERE event_type = 'PaymentRecorded'
  UNION ALL
  SELECT substr(CAST(data.charged_on AS varchar), 1, 7), 0,
         CASE WHEN data.kind = 'interest' THEN data.amount ELSE 0 END,
         CASE WHEN data.kind = 'fee' THEN data.amount ELSE 0 END
  FROM events WHERE event_type = 'ChargeAdded'
  UNION ALL
  SELECT substr(CAST(data.closing_date AS varchar), 1, 7), 0,
         CASE WHEN data.difference <> 0 THEN COALESCE(data.interest_charged, 0) ELSE 0 END,
         CASE WHEN data.difference <> 0 THEN COALESCE(data.fees_charged, 0) ELSE 0 END
  FROM events WHERE event_type = 'StatementRecorded'
) AS amounts
GROUP BY month
ORDER BY month
