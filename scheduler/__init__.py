"""The atoll scheduler: a pure placement core (snapshot, framework, plugins, queue) and its runner."""
