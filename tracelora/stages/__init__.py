"""The DVC stages, thin: parse arguments, read params, call library code, write outs. Each is a
`tracelora <stage>` subcommand (tracelora.cli) and `python -m tracelora.stages.<name>`."""
