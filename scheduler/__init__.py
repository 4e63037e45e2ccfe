"""The atoll scheduler: a pure placement core (snapshot, framework, plugins, queue) and the
scheduling loop that connects it to the API."""
