"""The HTTP and GraphQL boundary: the only package that imports strawberry or starlette.

Importing it builds nothing; ``gql.app.create_app`` builds the ASGI application.
"""
