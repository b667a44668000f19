"""Why a build stopped, in words a person can act on."""


class BuildFailure(Exception):
    """A build stage failed; `reason` is shown to people as the build's error."""

    def __init__(self, stage: str, reason: str):
        super().__init__(reason)
        self.stage = stage
        self.reason = reason
