"""What every WISPGate service shares and no domain needs to know: the plumbing.

PostgreSQL (database, migrations, pools), reading the event log in commit-safe order, NATS
(connections, streams), redelivery and dead letters, logging, settings and running a process
until a signal. It imports only `contracts` and third-party libraries, never a service.
"""
