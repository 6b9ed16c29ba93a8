"""The owner's web page (issue 14): signing in, a project's exports asked for, followed and downloaded.

Server-rendered Jinja2 pages served by the API's own app, htmx for the live list, no build step and
nothing from a CDN. docs/web.md describes the sessions, CSRF, headers and languages.
"""
