-- The balance outstanding on open debts (neither paid off nor deleted), by payment frequency: the sum over
-- users of GET /users/{u}/summary's by_payment_frequency.
SELECT payment_frequency, COUNT(*) AS open_debts, SUM(current_balance) AS total_current_balance
FROM debt_states
WHERE status = 'open'
GROUP BY payment_frequency
ORDER BY payment_frequency
