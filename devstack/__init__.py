"""The local stack behind `make run` and `make test`: services, base image, demo."""
