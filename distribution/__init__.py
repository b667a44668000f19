"""The OCI distribution API client: manifests, blobs, copies by digest (an adapter)."""
