# Starlette's TestClient imports `httpx2 as httpx` for the type checker but falls back to httpx at run time,
# and httpx is what this project installs: without this stub every TestClient call would be typed Any.
from httpx import *
from httpx import _client as _client
from httpx import _types as _types
