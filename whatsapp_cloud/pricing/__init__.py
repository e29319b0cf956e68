"""What WhatsApp charges: the pure pricing engine, the rate card and the cost ledger."""
