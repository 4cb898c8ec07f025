-- Debts paid off per month (of the payment that paid each off, by paid_on), and the months they took from
-- their start: the least, the average and the most. A deleted debt counts in neither.
SELECT
  substr(CAST(paid_off_on AS varchar), 1, 7) AS month,
  COUNT(*) AS debts_paid_off,
  MIN(months_to_pay_off) AS fewest_months,
  AVG(CAST(months_to_pay_off AS double)) AS average_months,
  MAX(months_to_pay_off) AS most_months
FROM debt_states
WHERE status = 'paid_off'
GROUP BY substr(CAST(paid_off_on AS varchar), 1, 7)
ORDER BY month
