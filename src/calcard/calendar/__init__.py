"""The web calendar's events, tasks and calendars, public holidays and the
settings page's preferences, built on ``store`` and decided by ``sharing.access``.
"""
