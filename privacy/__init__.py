"""Privacy: a copy of everything held about one customer (export), its removal from every store (erasure),
the retention sweep that removes what is older than its limit (sweep.py), and the requests customers make in
the chat (tickets.py), queued erasures among them (queued_erasures.py).

The stores are Redis (the WhatsApp library's keys and streams, Rasa's tracker and lock, the handoff
service's chats), the order database and the media directory. This package reads them with plain clients
and the key layouts of `whatsapp_cloud/redis_keys.py` and `stack/handoff_keys.py`; it imports neither the
bot nor the handoff service, which call it.
"""
