"""Confidentiality: who may sign in, with which role, and what each role may do.

`users` owns accounts, password hashes and bearer tokens; `policy` says which role may
perform which action on which resource types. Every API route and CLI command that
touches patient data goes through `policy.check`.
"""
