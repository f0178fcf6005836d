"""The signed evaluation report: the named PDF built at sign-off, signed by the centre's key
(PAdES), archived sealed with its hash in the draw ledger, read by those the visibility table
allows (docs/reports.md)."""
