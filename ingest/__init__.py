"""The webhook intake process: Meta's callback URL, apart from the bot's workers.

It checks, stores and acknowledges webhooks (whatsapp_cloud/webhooks/ingest.py) and serves the media
links the bot sends; it loads no NLU, so acknowledgements never wait for a dialogue turn.
"""
