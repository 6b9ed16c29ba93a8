"""The page's routers, one module per area; none is in the API's OpenAPI document."""
