"""What Meta posts: the signature check, typed inbound families and the ingest steps."""
