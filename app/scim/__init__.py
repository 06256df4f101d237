"""SCIM 2.0 (RFC 7643/7644): the directory as Users and Groups, their filters, /Bulk and its
job type. The HTTP layer (the /scim/v2 blueprint) is ``app.scim.http``."""
