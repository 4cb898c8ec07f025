-- Users whose debts total more this month than the payoff plan they adopted last promised for it, as
-- GET /users/{u}/progress compares them (domain::adopted_plan): the promise is the starting total in the
-- adoption month, planned_totals[k] at the end of the plan's month k (`start` is month 1), zero after its
-- last month. behind_by is what they owe beyond the promise. "This month" is current_date's (UTC on Athena).
WITH plans AS (
  SELECT aggregate_id AS username,
         MAX_BY(data.start, version) AS plan_start,
         MAX_BY(data.starting_total, version) AS starting_total,
         MAX_BY(data.planned_totals, version) AS planned_totals
  FROM events
  WHERE event_type = 'PlanAdopted'
  GROUP BY aggregate_id
),
places AS (
  SELECT *,
         (year(current_date) * 12 + month(current_date))
           - (CAST(substr(plan_start, 1, 4) AS integer) * 12 + CAST(substr(plan_start, 6, 2) AS integer)) + 1
           AS month_index
  FROM plans
),
promises AS (
  SELECT username, plan_start,
         CASE WHEN month_index <= 0 THEN starting_total
              WHEN month_index <= cardinality(planned_totals)
                THEN CAST(planned_totals[month_index] AS decimal(38, 10))
              ELSE 0 END AS planned_total
  FROM places
),
owed AS (
  SELECT owner AS username, SUM(current_balance) AS actual_total
  FROM debt_states
  WHERE status <> 'deleted'
  GROUP BY owner
)
SELECT p.username, p.plan_start, p.planned_total, COALESCE(o.actual_total, 0) AS actual_total,
       COALESCE(o.actual_total, 0) - p.planned_total AS behind_by
FROM promises AS p
LEFT JOIN owed AS o ON o.username = p.username
WHERE COALESCE(o.actual_total, 0) > p.planned_total
ORDER BY behind_by DESC, p.username
