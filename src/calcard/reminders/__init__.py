"""Reminders delivered: the channels (``delivery``: mail over SMTP, chat webhooks,
browser notifications) and the dispatch of what is due (``dispatch``: claim due
rows, deliver them through the channels, record each outcome; queued mail; a
repeating reminder's stop link). The schedule of due alarms is derived data kept
by ``store`` with every item (``store.alarms``, ``store.reminders``);
``calcard.worker`` runs the dispatch in its loop with the other packages' due work.
"""
