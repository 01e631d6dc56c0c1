"""Accounts and access: roles and permissions, passwords, tokens, patient links."""
