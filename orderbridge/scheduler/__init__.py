"""The daemon and its entry points: scheduled polls and passes, the HTTP app, the CLI."""
