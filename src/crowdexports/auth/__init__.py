"""Who is asking and may they: passwords, tokens and API keys, accounts, signed links, rate limits."""
