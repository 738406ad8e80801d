"""Source-independent orchestration: config, schema, normalisers, runner, replay and the CLI."""
