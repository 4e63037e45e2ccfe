"""The Service proxy of a real node: atoll's own nftables table, rebuilt from the Service and
Endpoints objects and applied in one ``nft -f`` transaction per change (kube-proxy's nftables
mode, in Python). ``model`` (what to program), ``ruleset`` (the pure renderer), ``nft`` (running
the ``nft`` binary), ``proxier`` (coalesced, idempotent application)."""
