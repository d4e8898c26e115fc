"""`curate` and `python -m curate`. The command line's modules (typer, rich) load only
when it runs: a worker process re-imports the module that started the run (the
`curate` script imports this one), and must not pay for them."""


def main() -> None:
    from curate.cli import app
    from curate.console import survive_closed_pipes

    survive_closed_pipes()
    app(prog_name="curate")


if __name__ == "__main__":
    main()
