-- Events per type per UTC day (the day of occurred_at): what the analytics consumer's daily counters count.
SELECT event_date, event_type, COUNT(*) AS events
FROM events
GROUP BY event_date, event_type
ORDER BY event_date, event_type
