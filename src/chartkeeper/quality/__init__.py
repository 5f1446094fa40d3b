"""Data quality of the record: patient identity (merges and, later, the master patient
index) and the rules that keep duplicate records from spreading."""
