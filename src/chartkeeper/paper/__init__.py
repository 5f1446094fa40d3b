"""Paper records: what a file room and an imaging desk do beside the electronic record.

`retention` owns retention rules (data, in `retention_rules.toml`), the list of records
eligible for destruction, legal holds and destruction with its certificate; `tracking` owns
physical chart volumes, their barcode labels and custody (check-out, transfer, check-in,
overdue). Tables live in `chartkeeper.store.paper`; every access is audited there, in the
caller's transaction. The CLI (`chartkeeper paper`) and the API (`/paper`) are thin layers
over these functions.
"""
