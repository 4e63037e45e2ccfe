"""The garbage collector: dependents of deleted owners, foreground and orphan deletions."""
