"""The scheduler: finds what is due in the read models and sends ordinary commands for it."""
