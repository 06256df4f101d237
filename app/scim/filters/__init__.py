"""SCIM filters (RFC 7644 §3.4.2.2): one grammar (``syntax``), compiled to SQL for lists
(``sql``) and to a test of one element for PATCH paths (``value``)."""
