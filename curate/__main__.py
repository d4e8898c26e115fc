"""`curate` and `python -m curate`. The command line's modules (typer, rich) load only
when it runs: a worker process re-imports the module that started the run (the
`curate` script imports this one), and must not pay for them."""


def main() -> None:
    import sys

    from curate.cli import app, unwritable_stdout
    from curate.console import survive_closed_pipes

    survive_closed_pipes()
    try:
        app(prog_name="curate")
    except SystemExit as end:
        if not end.code:  # what `show`, `check`, `report`, `stages` or `-h` printed is what they deliver
            unwritable_stdout(sys.argv[1:])
        raise


if __name__ == "__main__":
    main()
