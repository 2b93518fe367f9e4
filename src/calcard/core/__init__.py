"""The ground every other package stands on: settings, the database and its schema,
time and date bounds, signed links, leases on queued rows, the outgoing mail queue
and the rules for outbound HTTP.

Nothing here knows about calendars, accounts or HTTP routes; every package may
import from here, and ``core`` imports from no other calcard package.
"""
