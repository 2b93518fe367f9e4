"""Push: WebDAV-Push for DAV clients (draft "Push for WebDAV", bitfireAT/webdav-push)
and Web Push for the web calendar's browsers (RFC 8030).

``vapid`` keeps the deployment's VAPID key pair (RFC 8292) in the database;
``wire`` reads ``push-register`` bodies and writes ``push-message`` ones;
``subscriptions`` registers, renews, lists and removes subscriptions (who may is
the door's, calcard.sharing.access); ``sending`` encrypts (RFC 8291) and posts one
message through the outbound guard; ``dispatch`` claims the subscriptions a
change made due (``store.push``) and sends each message once, on any node.
"""
