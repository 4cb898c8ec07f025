-- Each debt as its events leave it, folded as the Debt aggregate folds them (domain::debt), in version
-- order: DebtCreated and an update's current_balance set the balance; a payment lowers it, a charge and a
-- statement's difference raise it. A payment that leaves it at zero pays the debt off (on the latest paid_on
-- so far); a charge, a statement or a corrected balance that leaves it above zero opens it again. The
-- payment frequency is the last one set. months_to_pay_off counts from the month of start_date.
WITH debt_events AS (
  SELECT
    aggregate_id AS debt_id, version, event_type,
    CASE WHEN event_type = 'DebtCreated' THEN data.current_balance
         WHEN event_type = 'DebtUpdated' THEN data.changes.current_balance END AS set_to,
    CASE WHEN event_type = 'PaymentRecorded' THEN -data.amount
         WHEN event_type = 'ChargeAdded' THEN data.amount
         WHEN event_type = 'StatementRecorded' THEN data.difference
         ELSE 0 END AS delta,
    CASE WHEN event_type = 'DebtCreated' THEN data.payment_frequency
         WHEN event_type = 'DebtUpdated' THEN data.changes.payment_frequency END AS frequency,
    CASE WHEN event_type = 'DebtCreated' THEN data.owner END AS owner,
    CASE WHEN event_type = 'DebtCreated' THEN data.start_date END AS start_date,
    CASE WHEN event_type = 'PaymentRecorded' THEN data.paid_on END AS paid_on
  FROM events
  WHERE aggregate_type = 'debt'
),
segments AS (
  SELECT *, COUNT(set_to) OVER (PARTITION BY debt_id ORDER BY version ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS segment
  FROM debt_events
),
balances AS (
  SELECT *,
    SUM(COALESCE(set_to, 0) + delta) OVER (PARTITION BY debt_id, segment ORDER BY version
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance,
    MAX(paid_on) OVER (PARTITION BY debt_id ORDER BY version ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_paid_on
  FROM segments
),
status_changes AS (
  SELECT debt_id, version, last_paid_on,
    CASE WHEN event_type = 'PaymentRecorded' AND balance = 0 THEN 'paid_off' ELSE 'open' END AS status
  FROM balances
  WHERE (event_type = 'PaymentRecorded' AND balance = 0)
     OR (event_type IN ('ChargeAdded', 'StatementRecorded') AND balance > 0)
     OR (event_type = 'DebtUpdated' AND set_to IS NOT NULL AND balance > 0)
),
debts AS (
  SELECT
    debt_id,
    MAX(owner) AS owner,
    MAX(start_date) AS start_date,
    MAX_BY(balance, version) AS current_balance,
    MAX(CASE WHEN event_type = 'DebtDeleted' THEN 1 ELSE 0 END) AS deleted
  FROM balances
  GROUP BY debt_id
),
frequencies AS (
  SELECT debt_id, MAX_BY(frequency, version) AS payment_frequency
  FROM debt_events WHERE frequency IS NOT NULL GROUP BY debt_id
),
statuses AS (
  SELECT debt_id, MAX_BY(status, version) AS status, MAX_BY(last_paid_on, version) AS paid_off_on
  FROM status_changes GROUP BY debt_id
)
SELECT
  d.debt_id, d.owner, d.start_date, f.payment_frequency, d.current_balance,
  CASE WHEN d.deleted = 1 THEN 'deleted' ELSE COALESCE(s.status, 'open') END AS status,
  CASE WHEN s.status = 'paid_off' THEN s.paid_off_on END AS paid_off_on,
  CASE WHEN s.status = 'paid_off'
       THEN (year(s.paid_off_on) * 12 + month(s.paid_off_on)) - (year(d.start_date) * 12 + month(d.start_date))
  END AS months_to_pay_off
FROM debts AS d
LEFT JOIN frequencies AS f ON f.debt_id = d.debt_id
LEFT JOIN statuses AS s ON s.debt_id = d.debt_id
