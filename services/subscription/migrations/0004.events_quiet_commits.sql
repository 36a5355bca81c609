-- The NOTIFY trigger goes: PostgreSQL serialises the commits of every transaction that notifies
-- (one lock held through the commit's WAL flush), so it capped appends near one per fsync. The
-- relay is woken by a core NATS hint from the appending process instead (hints.py), and polls.
drop trigger if exists events_appended on events.events;
drop function if exists events.notify_appended();
