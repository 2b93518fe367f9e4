"""Delivering reminders: the channels (mail over SMTP, chat webhooks, browser
notifications). The schedule of due alarms is derived data kept by ``store``
(``store.alarms``, ``store.reminders``); ``worker`` claims due rows and calls
the channels here.
"""
