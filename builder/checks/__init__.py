"""Quality gates run between the build and the push to staging: one module per gate."""
