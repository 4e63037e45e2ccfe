"""The HTTP/JSON API, its OpenAPI document and the web console, served by the API server process
on a listener of its own; every object call goes through the same guarded calls as gRPC."""
