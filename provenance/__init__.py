"""Image proofs: cosign-style signatures and signed in-toto attestations next to each image."""
