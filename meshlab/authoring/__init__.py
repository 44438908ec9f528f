"""Self-serve authoring of data products: draft a contract from data (``init``), validate
contracts against ODCS v3 (``lint``), flag breaking changes (``diff``) and publish a
query's result as a derived product (``%%mesh --save``)."""
