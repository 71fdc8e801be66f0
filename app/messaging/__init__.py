"""WhatsApp's rules for outbound messages: the 24-hour window, approved templates, customer opt-out, rich content."""
