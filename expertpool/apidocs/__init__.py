"""The API's description: the OpenAPI 3.1 document and a browsable page rendered from it."""
