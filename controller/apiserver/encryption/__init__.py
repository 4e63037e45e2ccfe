"""Encryption at rest: Secrets are AES-GCM encrypted in the store, transparently to every reader
of the API server (Kubernetes' EncryptionConfiguration with the aesgcm provider).

    config.py   the key file (DATA_DIR/encryption.yaml): created 0600 on first start, key list
    aesgcm.py   the value format and the cipher
    store.py    EncryptingStore: a Store decorator that encrypts on write and decrypts on read,
                and the start-up pass that rewrites values not under the first key (rotation)
"""
